// The secrets and the Access audience the team tests run with (no file access: the workerd tests import it).

/** The secrets TEAM_DASHBOARDS name. */
export const TEAM_SECRETS = {
  TEAM_A_INGEST_TOKEN: "team-a-ingest-token-0123456789",
  TEAM_A_VIEWER_TOKEN: "team-a-viewer-token-0123456789",
  TEAM_B_INGEST_TOKEN: "team-b-ingest-token-0123456789",
  TEAM_B_VIEWER_TOKEN: "team-b-viewer-token-0123456789",
};

/** The Access application's audience tag in the tests. */
export const TEST_ACCESS_AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
