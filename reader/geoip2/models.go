package geoip2

import "github.com/ipatlas/ipatlas/schema"

// The record types are the typed record model of package schema, the one
// model that the writer side (schema.Inference.AppendRecord) is held to
// and that these lookups decode into. They have the field names, types
// and maxminddb tags of geoip2-golang v2's models, so code written against
// geoip2-golang compiles unchanged. Records returned by the *Shared
// methods are shared between callers and must not be modified.
type (
	// Names holds a place's name in the languages GeoIP2 databases carry.
	Names = schema.Names
	// Continent is the continent record.
	Continent = schema.Continent
	// Location is the location record.
	Location = schema.Location
	// RepresentedCountry is the country represented by the users of the
	// address.
	RepresentedCountry = schema.RepresentedCountry
	// CityRecord is the city of a City record.
	CityRecord = schema.CityRecord
	// CityPostal is the postal code of a City record.
	CityPostal = schema.CityPostal
	// CitySubdivision is one subdivision of a City record.
	CitySubdivision = schema.CitySubdivision
	// CountryRecord is a country.
	CountryRecord = schema.CountryRecord
	// CityTraits are the traits of a City record.
	CityTraits = schema.CityTraits
	// CountryTraits are the traits of a Country record.
	CountryTraits = schema.CountryTraits
	// City is the record of GeoIP2/GeoLite2 City databases.
	City = schema.City
	// Country is the record of GeoIP2/GeoLite2 Country databases.
	Country = schema.Country
	// EnterpriseCityRecord is the city of an Enterprise record.
	EnterpriseCityRecord = schema.EnterpriseCityRecord
	// EnterprisePostal is the postal code of an Enterprise record.
	EnterprisePostal = schema.EnterprisePostal
	// EnterpriseSubdivision is a subdivision of an Enterprise record.
	EnterpriseSubdivision = schema.EnterpriseSubdivision
	// EnterpriseCountryRecord is the country of an Enterprise record.
	EnterpriseCountryRecord = schema.EnterpriseCountryRecord
	// EnterpriseTraits are the traits of an Enterprise record.
	EnterpriseTraits = schema.EnterpriseTraits
	// Enterprise is the record of GeoIP2 Enterprise databases.
	Enterprise = schema.Enterprise
	// ASN is the record of GeoLite2 ASN databases.
	ASN = schema.ASN
	// Region is one level of ipatlas's region hierarchy in a record.
	Region = schema.AtlasRegion
	// IPAtlas is the ipatlas part of a record.
	IPAtlas = schema.IPAtlas
	// Atlas is the record of ipatlas databases.
	Atlas = schema.Atlas
)
