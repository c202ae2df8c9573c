// The filters' choices (versions, models, projects, languages, events), loaded once per page load.

import { api } from "./dom.js";

let loading = null;

export function facets() {
  if (!loading) loading = api("facets").catch((err) => { loading = null; throw err; });
  return loading;
}
