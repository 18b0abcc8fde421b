DROP TABLE IF EXISTS gateway_cameras;
