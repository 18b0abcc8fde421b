DROP TABLE IF EXISTS alert_channels;
