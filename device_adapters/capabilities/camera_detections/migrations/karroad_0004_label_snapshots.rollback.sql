DROP TABLE IF EXISTS camera_label_snapshots;
