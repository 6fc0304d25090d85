package serve_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/serve"
	"github.com/prometheus/client_golang/prometheus"
)

// A CDN embeds the lookup service in its own mux under /geo/, with the
// service's metrics on the CDN's own registry, and keeps the file fresh
// with Watch: a new version renamed over city.mmdb is checked and swapped
// in while the old one answers.
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	city := filepath.Join(dir, "city.mmdb")
	writeCity(city) // what ipatlas build would do

	registry := prometheus.NewRegistry()
	geo, err := serve.New(serve.Options{Path: city, Registerer: registry})
	if err != nil {
		log.Fatal(err)
	}
	defer geo.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go geo.Watch(ctx, serve.DefaultPoll) //nolint:errcheck // returns ctx.Err()

	mux := http.NewServeMux()
	mux.Handle("/geo/", http.StripPrefix("/geo", geo))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the CDN's own page") })
	cdn := httptest.NewServer(mux)
	defer cdn.Close()

	for _, path := range []string{"/geo/v1/lookup/1.2.3.4", "/geo/v1/lookup/9.9.9.9", "/geo/readyz", "/"} {
		resp, err := http.Get(cdn.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	mfs, _ := registry.Gather()
	fmt.Println(len(mfs) > 0)
	// Output:
	// 200 {"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"record":{"country":{"iso_code":"CN"}}}
	// 200 {"ip":"9.9.9.9","network":"8.0.0.0/5","found":false}
	// 200 {"status":"ready"}
	// 200 the CDN's own page
	// true
}

func writeCity(path string) {
	w, err := format.Create(path, format.WriterOptions{})
	if err != nil {
		log.Fatal(err)
	}
	rec := format.Map{"country": format.Map{"iso_code": format.String("CN")}}
	if err := w.InsertValue(netip.MustParsePrefix("1.2.3.0/24"), rec); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
}
