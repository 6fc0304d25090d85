package main

// inputSchemaHelp is the input schema as build --help and ingest --help
// give it; README.md's "Input: inference results" says the same
// (TestInputSchemaDocumented holds the two to the same columns).
const inputSchemaHelp = `Input: one row per network; CSV or TSV with a header row, or JSONL (one object a line).
Columns (CSV/TSV) or keys (JSONL), in any order; every one but network is optional:

  network               1.2.3.0/24, 2001:db8::/48; a single address (1.2.3.4 = /32); or an
                        inclusive range 1.2.3.0-1.2.4.255 (split into the fewest CIDRs)
  L, L_code, L_confidence
                        for each level L of the hierarchy: the region's name, its code
                        (country: ISO 3166-1 alpha-2 such as CN; province: ISO 3166-2 such as
                        CN-SH) and the model's confidence in [0,1]. A region needs a name or
                        a code. Levels, outermost first (--levels to change):
                        country, province, city, district, street, community
  latitude, longitude   WGS84 degrees, [-90,90] and [-180,180]
  accuracy_radius_km    an integer >= 0
  confidence            overall, [0,1]; default: the confidence of the deepest level
  source                the model; default: the --source (ingest) or nothing
  model_version         any text
  names_lang            the locale of the names, such as en or zh-CN; default en

A row may stop at any level (a country-only row is fine), but a level needs its parent:
a row with a city must have a province. If your rows have no provinces, declare the
hierarchy they use: --levels country,city. Numbers are plain decimals (1.5, -0.25, 1e-3;
not 0x1p3 or 1_0). An empty cell (JSON null) is no value. Other columns are an error
unless kept with --extra.

JSONL may give the levels as a regions array instead of the L keys:

  {"network":"1.2.3.0/24","regions":[{"level":"country","code":"CN","name":"China",
   "confidence":0.98},{"level":"province","code":"CN-SH","name":"Shanghai"}],
   "latitude":31.22,"longitude":121.54,"accuracy_radius_km":5,"source":"bertgeo"}

The smallest CSV:

  network,country_code,latitude,longitude
  1.2.3.0/24,CN,31.22,121.54

Raw-record JSONL ({"network":...,"record":...} a line, as 'ipatlas export' writes) is
recognised by its shape (or --format raw) and stored as given.

Bad rows reject the file (nothing written); the error lists the first 100 with file,
line and field. --skip-bad-rows lands the file without them, each reported.`
