package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Sink kinds are registered by the package that maps a kind to its sink
// (internal/sink/all), not imported here: config sits below the sinks and
// imports none of them. A program (or test) that reads a config with
// deliver: entries imports internal/sink/all.
var (
	sinkKindsMu sync.RWMutex
	sinkKinds   = map[string]func() SinkSettings{}
)

// RegisterSinkKind makes kind a valid deliver: entry; settings returns a new
// value to decode one into, holding the kind's defaults.
func RegisterSinkKind(kind string, settings func() SinkSettings) {
	sinkKindsMu.Lock()
	defer sinkKindsMu.Unlock()
	if _, dup := sinkKinds[kind]; dup {
		panic("config: sink kind " + kind + " registered twice")
	}
	sinkKinds[kind] = settings
}

// sink decodes one deliver: entry: exactly one kind, its settings.
func (d *decoder) sink(n *yaml.Node, where string) Sink {
	s := Sink{Line: n.Line}
	sinkKindsMu.RLock()
	kinds := make(map[string]field, len(sinkKinds))
	for kind, settings := range sinkKinds {
		kinds[kind] = func(_, v *yaml.Node) {
			st := settings()
			s.Kind, s.Node, s.Settings = kind, v, st
			d.settings(v, where+"."+kind, st)
		}
	}
	sinkKindsMu.RUnlock()
	d.oneOf(n, where, kinds)
	return s
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	fileModeType = reflect.TypeOf(os.FileMode(0))
)

// settings decodes the mapping n into st's yaml-tagged fields with the same
// checks as every other section (unknown keys, types, inline secrets), then
// completes st and reports its problems, each at the line of its key.
func (d *decoder) settings(n *yaml.Node, where string, st SinkSettings) {
	rv := reflect.ValueOf(st).Elem()
	at := map[string]*yaml.Node{} // key → its node
	fields := map[string]field{}
	for i := 0; i < rv.NumField(); i++ {
		sf := rv.Type().Field(i)
		key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		w := where + "." + key
		var f field
		switch ptr := rv.Field(i).Addr().Interface(); {
		case sf.Type == durationType:
			f = d.dur(ptr.(*time.Duration), w)
		case sf.Type == fileModeType:
			f = d.fileMode(ptr.(*os.FileMode), w)
		case sf.Type.Kind() == reflect.String && sf.Tag.Get("config") == "path":
			f = d.path(ptr.(*string), w)
		case sf.Type.Kind() == reflect.String:
			f = d.str(ptr.(*string), w)
		case sf.Type.Kind() == reflect.Bool:
			f = d.boolean(ptr.(*bool), w)
		case sf.Type.Kind() == reflect.Int:
			f = d.integer(ptr.(*int), w)
		case sf.Type == reflect.TypeOf([]string(nil)):
			f = d.strings(ptr.(*[]string), w)
		case sf.Type == reflect.TypeOf(map[string]string(nil)):
			f = d.stringMap(ptr.(*map[string]string), w)
		default:
			panic(fmt.Sprintf("config: %s.%s: no decoder for %s", rv.Type(), sf.Name, sf.Type))
		}
		fields[key] = func(k, v *yaml.Node) { at[key] = k; f(k, v) }
	}
	if !d.mapping(n, where, fields) {
		return
	}
	st.Complete()
	for _, p := range st.Validate() {
		line := resolve(n)
		if k := at[p.Key]; k != nil {
			line = k
		}
		d.errorf(line, p.Hint, "%s: %s", where, p.Msg)
	}
	if ep, ok := st.(EnvPasser); ok {
		key, names := ep.PassesEnv()
		line := resolve(n)
		if k := at[key]; k != nil {
			line = k
		}
		d.envPass(line, where, names)
	}
}

// noUsername reports each of where's deliver: entries that would deliver a
// username (see UsernameDeliverer), at the line of the setting that asks
// for it: the token (why says which) has none.
func (d *decoder) noUsername(sinks []Sink, where, why string) {
	for j, s := range sinks {
		ud, ok := s.Settings.(UsernameDeliverer)
		if !ok {
			continue
		}
		key := ud.DeliversUsername()
		if key == "" {
			continue
		}
		line := s.Node
		if m := resolve(s.Node); m != nil && m.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(m.Content); i += 2 {
				if m.Content[i].Value == key {
					line = m.Content[i]
				}
			}
		}
		what, fix := key, "remove "+key+" from this entry"
		if v := scalarKey(s.Node, key); key == "format" && v != "" {
			what, fix = "format "+v, "choose another format"
		}
		d.errorf(line, "only a deploy token (kind: deploy_token) has a username: "+fix+", to deliver the token alone",
			"%s.deliver[%d].%s: %s delivers a username, but %s", where, j, s.Kind, what, why)
	}
}
