DROP TABLE IF EXISTS dead_letters, camera_snapshots, camera_events, drone_frames, media, drone_telemetry,
    missions, garden_readings, devices;
