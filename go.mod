module github.com/ipatlas/ipatlas

go 1.26.8

require (
	github.com/oschwald/geoip2-golang/v2 v2.5.0 // indirect
	github.com/oschwald/maxminddb-golang/v2 v2.9.0
	golang.org/x/sys v0.49.0 // indirect
)
