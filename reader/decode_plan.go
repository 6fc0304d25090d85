package reader

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sync"
	"unsafe"
)

// Typed decoding: a plan per Go type, built once and cached.

// decodeFn decodes the value at off into the Go value at p, whose type is
// the plan's, and returns the offset after the value at off.
type decodeFn func(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error)

type plan struct {
	typ  reflect.Type
	dec  decodeFn
	elem *plan // pointer, slice, array and map element
	key  *plan // map key

	// structs
	fields   map[string]*field
	fieldErr error // an invalid tag: reported when a value is decoded
	// the same fields as a list, for a linear scan when it is short
	fieldList []namedField
}

type namedField struct {
	name string
	f    *field
}

// lookupField returns the field the key kb names, or nil.
func (pl *plan) lookupField(kb []byte) *field {
	if pl.fieldList != nil {
		for i := range pl.fieldList {
			if nf := &pl.fieldList[i]; len(nf.name) == len(kb) && nf.name == string(kb) {
				return nf.f
			}
		}
		return nil
	}
	return pl.fields[string(kb)]
}

// field is one struct field reachable by a map key.
type field struct {
	plan *plan
	// path from the struct to the field: offsets, and for each step but
	// the last whether it goes through a pointer to an embedded struct
	// (allocated when nil).
	steps []fieldStep
}

type fieldStep struct {
	offset  uintptr
	ptrElem reflect.Type // non-nil: the field at offset is a *ptrElem to follow
}

var plans sync.Map // reflect.Type -> *plan

var planMu sync.Mutex

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	planMu.Lock()
	defer planMu.Unlock()
	building := map[reflect.Type]*plan{}
	p := buildPlan(t, building)
	for bt, bp := range building {
		plans.LoadOrStore(bt, bp)
	}
	return p
}

func buildPlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p
	}
	p := &plan{typ: t}
	building[t] = p
	switch t.Kind() {
	case reflect.String:
		p.dec = decString
	case reflect.Bool:
		p.dec = decBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		p.dec = decNumber
	case reflect.Uintptr:
		p.dec = decUintptr
	case reflect.Pointer:
		p.elem = buildPlan(t.Elem(), building)
		p.dec = decPointer
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && t == reflect.TypeFor[[]byte]() {
			p.dec = decGeneric
			break
		}
		p.elem = buildPlan(t.Elem(), building)
		p.dec = decSlice
	case reflect.Map:
		p.key = buildPlan(t.Key(), building)
		p.elem = buildPlan(t.Elem(), building)
		if t == reflect.TypeFor[map[string]string]() {
			p.dec = decMapStringString
		} else {
			p.dec = decMap
		}
	case reflect.Struct:
		if t == bigIntType {
			p.dec = decGeneric
			break
		}
		p.dec = decStruct
		buildFields(p, building)
	default: // interfaces, arrays, channels, funcs, complex
		p.dec = decGeneric
	}
	return p
}

var bigIntType = reflect.TypeFor[big.Int]()

// buildFields resolves the struct's fields by name with maxminddb-golang
// v2's rules: the tag `maxminddb:"name"` names a field ("-" skips it),
// untagged exported fields go by their Go name, embedded structs (and
// pointers to structs) without a tag are flattened, and among fields of
// the same name the shallowest wins, then a tagged one, then the first.
func buildFields(p *plan, building map[reflect.Type]*plan) {
	type cand struct {
		name   string
		depth  int
		hasTag bool
		steps  []fieldStep
		typ    reflect.Type
	}
	type entry struct {
		t     reflect.Type
		steps []fieldStep
		depth int
	}
	var all []cand
	queue := []entry{{t: p.typ}}
	seen := map[reflect.Type]bool{p.typ: true}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		for i := range e.t.NumField() {
			f := e.t.Field(i)
			if !f.IsExported() && (!f.Anonymous || f.Type.Kind() != reflect.Struct) {
				continue
			}
			name := f.Name
			hasTag := false
			if tag, ok := f.Tag.Lookup("maxminddb"); ok {
				opts, err := parseTag(tag)
				if err != nil && p.fieldErr == nil {
					p.fieldErr = fmt.Errorf("invalid maxminddb struct tag on field %q: %w", f.Name, err)
				}
				if opts.ignored {
					continue
				}
				if opts.hasName {
					name, hasTag = opts.name, true
				}
			}
			steps := append(append([]fieldStep(nil), e.steps...), fieldStep{offset: f.Offset})
			if f.Anonymous && !hasTag {
				var et reflect.Type
				if f.Type.Kind() == reflect.Struct {
					et = f.Type
				} else if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
					et = f.Type.Elem()
					steps[len(steps)-1].ptrElem = et
				}
				if et != nil {
					if !seen[et] {
						seen[et] = true
						queue = append(queue, entry{t: et, steps: steps, depth: e.depth + 1})
					}
					continue
				}
			}
			all = append(all, cand{name: name, depth: e.depth, hasTag: hasTag, steps: steps, typ: f.Type})
		}
	}
	p.fields = make(map[string]*field, len(all))
	best := map[string]cand{}
	var order []string
	for _, c := range all {
		b, ok := best[c.name]
		if !ok {
			best[c.name] = c
			order = append(order, c.name)
			continue
		}
		if c.depth < b.depth || (c.depth == b.depth && c.hasTag && !b.hasTag) {
			best[c.name] = c
		}
	}
	for _, n := range order {
		c := best[n]
		p.fields[n] = &field{plan: buildPlan(c.typ, building), steps: c.steps}
	}
	if len(order) <= 16 {
		p.fieldList = make([]namedField, 0, len(order))
		for _, n := range order {
			p.fieldList = append(p.fieldList, namedField{n, p.fields[n]})
		}
	}
}

type tagOptions struct {
	name    string
	hasName bool
	ignored bool
}

// parseTag parses a maxminddb struct tag: "-", or a name optionally
// followed by options (",maxsize:N" is accepted and not enforced).
func parseTag(tag string) (tagOptions, error) {
	var o tagOptions
	if tag == "-" {
		o.ignored = true
		return o, nil
	}
	name := tag
	rest := ""
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			name, rest = tag[:i], tag[i:]
			break
		}
	}
	if len(name) >= 2 && name[0] == '\'' && name[len(name)-1] == '\'' {
		name = name[1 : len(name)-1]
	} else if name == "-" && rest != "" {
		return o, fmt.Errorf("name %q must be quoted as %q when options are present", "-", "'-'")
	}
	if name != "" || (tag != "" && tag[0] != ',') {
		o.name, o.hasName = name, true
	}
	if rest == "," {
		return o, errors.New("invalid trailing ',' character")
	}
	return o, nil
}

// locate follows the field's steps from the struct at p, allocating nil
// embedded struct pointers on the way.
func (f *field) locate(p unsafe.Pointer) unsafe.Pointer {
	for _, s := range f.steps {
		p = unsafe.Add(p, s.offset)
		if s.ptrElem != nil {
			pp := (*unsafe.Pointer)(p)
			if *pp == nil {
				*pp = reflect.New(s.ptrElem).UnsafePointer()
			}
			p = *pp
		}
	}
	return p
}
