DROP TABLE IF EXISTS garden_readings;
