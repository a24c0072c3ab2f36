-- +goose Up
CREATE TABLE team_members (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  PRIMARY KEY (team_id, agent_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX team_members_agent ON team_members(agent_id);
