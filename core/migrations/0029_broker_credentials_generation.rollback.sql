DROP TABLE IF EXISTS broker_credentials_applied;
DROP TABLE IF EXISTS broker_credentials_state;
