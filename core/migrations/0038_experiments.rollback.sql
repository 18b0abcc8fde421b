DROP TABLE IF EXISTS experiments;
