DROP TABLE replay_requests;
