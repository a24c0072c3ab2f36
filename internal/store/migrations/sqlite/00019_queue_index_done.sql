-- +goose Up
-- (MySQL needs two steps for what 00018 does here: create the new index, then drop the old one.)
SELECT 1;
