-- Webhooks verified as monday.com signs its deliveries (a JWT signed with the app's
-- signing secret in Authorization); see engine/hooks.py.

ALTER TABLE dw.hooks DROP CONSTRAINT hooks_verify_kind_check;
ALTER TABLE dw.hooks ADD CONSTRAINT hooks_verify_kind_check
    CHECK (verify_kind IN ('hmac', 'bearer', 'monday'));
