-- +goose Up
-- (MySQL needs two steps for what 00030 did here.)
SELECT 1;
