DROP TABLE IF EXISTS observations, frame_analyses;
