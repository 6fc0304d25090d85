package schema

import "net/netip"

// The typed record model: what a lookup decodes a record into. The GeoIP2
// types have the field names, types and maxminddb tags of geoip2-golang
// v2's models, so code written against geoip2-golang compiles unchanged
// (reader/geoip2 declares them as aliases of these); Atlas adds ipatlas's
// own part, the region hierarchy that Inference.AppendRecord writes.

// Names holds a place's name in the languages GeoIP2 databases carry.
type Names struct {
	German              string `json:"de,omitzero" maxminddb:"de,maxsize:1024"`
	English             string `json:"en,omitzero" maxminddb:"en,maxsize:1024"`
	Spanish             string `json:"es,omitzero" maxminddb:"es,maxsize:1024"`
	French              string `json:"fr,omitzero" maxminddb:"fr,maxsize:1024"`
	Japanese            string `json:"ja,omitzero" maxminddb:"ja,maxsize:1024"`
	BrazilianPortuguese string `json:"pt-BR,omitzero" maxminddb:"pt-BR,maxsize:1024"`
	Russian             string `json:"ru,omitzero" maxminddb:"ru,maxsize:1024"`
	SimplifiedChinese   string `json:"zh-CN,omitzero" maxminddb:"zh-CN,maxsize:1024"`
}

// HasData reports whether any name is set.
func (n Names) HasData() bool { return n != Names{} }

// Continent is the continent record.
type Continent struct {
	Names     Names  `json:"names,omitzero" maxminddb:"names"`
	Code      string `json:"code,omitzero" maxminddb:"code,maxsize:16"`
	GeoNameID uint   `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
}

// HasData reports whether any field is set.
func (c Continent) HasData() bool { return c != Continent{} }

// Location is the location record. Latitude and Longitude are nil when the
// database has no coordinates.
type Location struct {
	Latitude       *float64 `json:"latitude,omitzero" maxminddb:"latitude"`
	Longitude      *float64 `json:"longitude,omitzero" maxminddb:"longitude"`
	TimeZone       string   `json:"time_zone,omitzero" maxminddb:"time_zone,maxsize:256"`
	MetroCode      uint     `json:"metro_code,omitzero" maxminddb:"metro_code"`
	AccuracyRadius uint16   `json:"accuracy_radius,omitzero" maxminddb:"accuracy_radius"`
}

// HasData reports whether any field is set.
func (l Location) HasData() bool { return l != Location{} }

// HasCoordinates reports whether both coordinates are set.
func (l Location) HasCoordinates() bool { return l.Latitude != nil && l.Longitude != nil }

// RepresentedCountry is the country represented by the users of the
// address (e.g. a military base abroad).
type RepresentedCountry struct {
	Names             Names  `json:"names,omitzero" maxminddb:"names"`
	ISOCode           string `json:"iso_code,omitzero" maxminddb:"iso_code,maxsize:16"`
	Type              string `json:"type,omitzero" maxminddb:"type,maxsize:128"`
	GeoNameID         uint   `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
	IsInEuropeanUnion bool   `json:"is_in_european_union,omitzero" maxminddb:"is_in_european_union"`
}

// HasData reports whether any field is set.
func (r RepresentedCountry) HasData() bool { return r != RepresentedCountry{} }

// CityRecord is the city of a City record.
type CityRecord struct {
	Names     Names `json:"names,omitzero" maxminddb:"names"`
	GeoNameID uint  `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
}

// HasData reports whether any field is set.
func (c CityRecord) HasData() bool { return c != CityRecord{} }

// CityPostal is the postal code of a City record.
type CityPostal struct {
	Code string `json:"code,omitzero" maxminddb:"code,maxsize:128"`
}

// HasData reports whether any field is set.
func (p CityPostal) HasData() bool { return p != CityPostal{} }

// CitySubdivision is one subdivision (region, province) of a City record.
type CitySubdivision struct {
	Names     Names  `json:"names,omitzero" maxminddb:"names"`
	ISOCode   string `json:"iso_code,omitzero" maxminddb:"iso_code,maxsize:16"`
	GeoNameID uint   `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
}

// HasData reports whether any field is set.
func (s CitySubdivision) HasData() bool { return s != CitySubdivision{} }

// CountryRecord is a country.
type CountryRecord struct {
	Names             Names  `json:"names,omitzero" maxminddb:"names"`
	ISOCode           string `json:"iso_code,omitzero" maxminddb:"iso_code,maxsize:16"`
	GeoNameID         uint   `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
	IsInEuropeanUnion bool   `json:"is_in_european_union,omitzero" maxminddb:"is_in_european_union"`
}

// HasData reports whether any field is set.
func (c CountryRecord) HasData() bool { return c != CountryRecord{} }

// CityTraits are the traits of a City record. IPAddress and Network are
// filled in per lookup by City, not stored in the database; they are zero
// in shared records.
type CityTraits struct {
	IPAddress netip.Addr   `json:"ip_address,omitzero" maxminddb:"-"`
	Network   netip.Prefix `json:"network,omitzero" maxminddb:"-"`
	IsAnycast bool         `json:"is_anycast,omitzero" maxminddb:"is_anycast"`
}

// HasData reports whether a field from the database is set.
func (t CityTraits) HasData() bool { return t.IsAnycast }

// CountryTraits are the traits of a Country record, as CityTraits.
type CountryTraits struct {
	IPAddress netip.Addr   `json:"ip_address,omitzero" maxminddb:"-"`
	Network   netip.Prefix `json:"network,omitzero" maxminddb:"-"`
	IsAnycast bool         `json:"is_anycast,omitzero" maxminddb:"is_anycast"`
}

// HasData reports whether a field from the database is set.
func (t CountryTraits) HasData() bool { return t.IsAnycast }

// City is the record of GeoIP2/GeoLite2 City databases.
type City struct {
	Traits             CityTraits         `json:"traits,omitzero" maxminddb:"traits"`
	Postal             CityPostal         `json:"postal,omitzero" maxminddb:"postal"`
	Continent          Continent          `json:"continent,omitzero" maxminddb:"continent"`
	City               CityRecord         `json:"city,omitzero" maxminddb:"city"`
	Subdivisions       []CitySubdivision  `json:"subdivisions,omitzero" maxminddb:"subdivisions,maxsize:32"`
	RepresentedCountry RepresentedCountry `json:"represented_country,omitzero" maxminddb:"represented_country"`
	Country            CountryRecord      `json:"country,omitzero" maxminddb:"country"`
	RegisteredCountry  CountryRecord      `json:"registered_country,omitzero" maxminddb:"registered_country"`
	Location           Location           `json:"location,omitzero" maxminddb:"location"`
}

// HasData reports whether the record holds any data from the database.
func (c City) HasData() bool {
	for _, s := range c.Subdivisions {
		if s.HasData() {
			return true
		}
	}
	return c.Traits.HasData() || c.Postal.HasData() || c.Continent.HasData() || c.City.HasData() ||
		c.RepresentedCountry.HasData() || c.Country.HasData() || c.RegisteredCountry.HasData() || c.Location.HasData()
}

// Country is the record of GeoIP2/GeoLite2 Country databases.
type Country struct {
	Traits             CountryTraits      `json:"traits,omitzero" maxminddb:"traits"`
	Continent          Continent          `json:"continent,omitzero" maxminddb:"continent"`
	RepresentedCountry RepresentedCountry `json:"represented_country,omitzero" maxminddb:"represented_country"`
	Country            CountryRecord      `json:"country,omitzero" maxminddb:"country"`
	RegisteredCountry  CountryRecord      `json:"registered_country,omitzero" maxminddb:"registered_country"`
}

// HasData reports whether the record holds any data from the database.
func (c Country) HasData() bool {
	return c.Continent.HasData() || c.RepresentedCountry.HasData() || c.Country.HasData() ||
		c.RegisteredCountry.HasData() || c.Traits.HasData()
}

// EnterpriseCityRecord is the city of an Enterprise record, with a
// confidence (0-100).
type EnterpriseCityRecord struct {
	Names      Names `json:"names,omitzero" maxminddb:"names"`
	GeoNameID  uint  `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
	Confidence uint8 `json:"confidence,omitzero" maxminddb:"confidence"`
}

// EnterprisePostal is the postal code of an Enterprise record.
type EnterprisePostal struct {
	Code       string `json:"code,omitzero" maxminddb:"code,maxsize:128"`
	Confidence uint8  `json:"confidence,omitzero" maxminddb:"confidence"`
}

// EnterpriseSubdivision is a subdivision of an Enterprise record.
type EnterpriseSubdivision struct {
	Names      Names  `json:"names,omitzero" maxminddb:"names"`
	ISOCode    string `json:"iso_code,omitzero" maxminddb:"iso_code,maxsize:16"`
	GeoNameID  uint   `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
	Confidence uint8  `json:"confidence,omitzero" maxminddb:"confidence"`
}

// EnterpriseCountryRecord is the country of an Enterprise record.
type EnterpriseCountryRecord struct {
	Names             Names  `json:"names,omitzero" maxminddb:"names"`
	ISOCode           string `json:"iso_code,omitzero" maxminddb:"iso_code,maxsize:16"`
	GeoNameID         uint   `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
	Confidence        uint8  `json:"confidence,omitzero" maxminddb:"confidence"`
	IsInEuropeanUnion bool   `json:"is_in_european_union,omitzero" maxminddb:"is_in_european_union"`
}

// EnterpriseTraits are the traits of an Enterprise record; IPAddress and
// Network as in CityTraits.
type EnterpriseTraits struct {
	Network                      netip.Prefix `json:"network,omitzero" maxminddb:"-"`
	IPAddress                    netip.Addr   `json:"ip_address,omitzero" maxminddb:"-"`
	AutonomousSystemOrganization string       `json:"autonomous_system_organization,omitzero" maxminddb:"autonomous_system_organization,maxsize:4096"`
	ConnectionType               string       `json:"connection_type,omitzero" maxminddb:"connection_type,maxsize:128"`
	Domain                       string       `json:"domain,omitzero" maxminddb:"domain,maxsize:512"`
	ISP                          string       `json:"isp,omitzero" maxminddb:"isp,maxsize:4096"`
	MobileCountryCode            string       `json:"mobile_country_code,omitzero" maxminddb:"mobile_country_code,maxsize:16"`
	MobileNetworkCode            string       `json:"mobile_network_code,omitzero" maxminddb:"mobile_network_code,maxsize:16"`
	Organization                 string       `json:"organization,omitzero" maxminddb:"organization,maxsize:4096"`
	UserType                     string       `json:"user_type,omitzero" maxminddb:"user_type,maxsize:128"`
	StaticIPScore                float64      `json:"static_ip_score,omitzero" maxminddb:"static_ip_score"`
	AutonomousSystemNumber       uint         `json:"autonomous_system_number,omitzero" maxminddb:"autonomous_system_number"`
	IsAnycast                    bool         `json:"is_anycast,omitzero" maxminddb:"is_anycast"`
	IsLegitimateProxy            bool         `json:"is_legitimate_proxy,omitzero" maxminddb:"is_legitimate_proxy"`
}

// Enterprise is the record of GeoIP2 Enterprise databases.
type Enterprise struct {
	Continent          Continent               `json:"continent,omitzero" maxminddb:"continent"`
	Subdivisions       []EnterpriseSubdivision `json:"subdivisions,omitzero" maxminddb:"subdivisions,maxsize:32"`
	Postal             EnterprisePostal        `json:"postal,omitzero" maxminddb:"postal"`
	RepresentedCountry RepresentedCountry      `json:"represented_country,omitzero" maxminddb:"represented_country"`
	Country            EnterpriseCountryRecord `json:"country,omitzero" maxminddb:"country"`
	RegisteredCountry  CountryRecord           `json:"registered_country,omitzero" maxminddb:"registered_country"`
	City               EnterpriseCityRecord    `json:"city,omitzero" maxminddb:"city"`
	Location           Location                `json:"location,omitzero" maxminddb:"location"`
	Traits             EnterpriseTraits        `json:"traits,omitzero" maxminddb:"traits"`
}

// ASN is the record of GeoLite2 ASN databases.
type ASN struct {
	IPAddress                    netip.Addr   `json:"ip_address,omitzero" maxminddb:"-"`
	Network                      netip.Prefix `json:"network,omitzero" maxminddb:"-"`
	AutonomousSystemOrganization string       `json:"autonomous_system_organization,omitzero" maxminddb:"autonomous_system_organization,maxsize:4096"`
	AutonomousSystemNumber       uint         `json:"autonomous_system_number,omitzero" maxminddb:"autonomous_system_number"`
}

// HasData reports whether the record holds any data from the database.
func (a ASN) HasData() bool {
	return a.AutonomousSystemNumber != 0 || a.AutonomousSystemOrganization != ""
}

// AtlasRegion is one level of ipatlas's region hierarchy (country,
// province, city, district, street, community or a source's own levels)
// as a record holds it: Region without its presence flags (an absent
// confidence reads as 0). reader/geoip2 declares it as geoip2.Region.
type AtlasRegion struct {
	Level      string  `json:"level" maxminddb:"level"`
	Code       string  `json:"code,omitzero" maxminddb:"code"`
	Name       string  `json:"name,omitzero" maxminddb:"name"`
	Confidence float64 `json:"confidence,omitzero" maxminddb:"confidence"`
	GeoNameID  uint    `json:"geoname_id,omitzero" maxminddb:"geoname_id"`
}

// IPAtlas is the ipatlas part of a record: the full region hierarchy,
// outermost first, each level with the model's confidence in [0,1].
type IPAtlas struct {
	Regions      []AtlasRegion `json:"regions,omitzero" maxminddb:"regions"`
	Confidence   float64       `json:"confidence,omitzero" maxminddb:"confidence"`
	Source       string        `json:"source,omitzero" maxminddb:"source"`
	ModelVersion string        `json:"model_version,omitzero" maxminddb:"model_version"`
	// NamesLang is the locale of the regions' names when it is not
	// DefaultNamesLang; empty otherwise.
	NamesLang string `json:"names_lang,omitzero" maxminddb:"names_lang"`
}

// Atlas is the record of ipatlas databases: the GeoIP2 Enterprise-style
// fields every MaxMind reader understands (country and subdivision
// confidence 0-100), plus the ipatlas hierarchy.
type Atlas struct {
	Continent    Continent               `json:"continent,omitzero" maxminddb:"continent"`
	Country      EnterpriseCountryRecord `json:"country,omitzero" maxminddb:"country"`
	Subdivisions []EnterpriseSubdivision `json:"subdivisions,omitzero" maxminddb:"subdivisions"`
	City         EnterpriseCityRecord    `json:"city,omitzero" maxminddb:"city"`
	Location     Location                `json:"location,omitzero" maxminddb:"location"`
	IPAtlas      IPAtlas                 `json:"ipatlas,omitzero" maxminddb:"ipatlas"`
}
