ALTER TABLE users DROP CONSTRAINT ck_users_role, ADD CONSTRAINT ck_users_role_v2 CHECK (role IN ('admin','office','leader','liaison','auditor'))
