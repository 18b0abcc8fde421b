DROP VIEW IF EXISTS camera_event_images;
