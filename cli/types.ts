/** The API's JSON shapes, as the CLI reads them (the CLI knows the server only through HTTP). */
export interface App {
  name: string;
  created_at: string;
  git_url: string;
  web_url: string;
  release: { version: number; description: string; created_at: string } | null;
  dynos: { name: string; state: string; port: number | null }[];
}

export interface LogLine {
  time: string;
  source: string;
  line: string;
}
