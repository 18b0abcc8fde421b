DROP TABLE IF EXISTS alert_webhook_deliveries, alert_webhooks;
