DROP TABLE IF EXISTS drone_frames;
DROP TABLE IF EXISTS drone_telemetry;
DROP TABLE IF EXISTS missions;
