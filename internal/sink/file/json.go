package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// jsonFormat edits one string value in a JSON object; "a.b" addresses a
// nested object. Other keys keep their values and their order; the file is
// re-indented with two spaces.
type jsonFormat struct{}

// jsonObject keeps members in file order, which encoding/json's maps lose.
type jsonObject []jsonMember

type jsonMember struct {
	key string
	val any // jsonObject, []any, string, json.Number, bool or nil
}

func (jsonFormat) get(content []byte, key string) (string, bool, error) {
	root, err := parseJSON(content)
	if err != nil {
		return "", false, err
	}
	segs := strings.Split(key, ".")
	var cur any = root
	for i, seg := range segs {
		obj, ok := cur.(jsonObject)
		if !ok {
			return "", false, fmt.Errorf("key %s: %s is not an object", key, strings.Join(segs[:i], "."))
		}
		idx := obj.index(seg)
		if idx < 0 {
			return "", false, nil
		}
		cur = obj[idx].val
	}
	return stringAt(key, cur, jsonKind)
}

func (jsonFormat) set(content []byte, key, value string) ([]byte, error) {
	root, err := parseJSON(content)
	if err != nil {
		return nil, err
	}
	root, err = jsonSet(root, strings.Split(key, "."), value, key)
	if err != nil {
		return nil, err
	}
	return marshalJSON(root), nil
}

// marshalJSON writes root indented with two spaces and a final newline.
func marshalJSON(root jsonObject) []byte {
	var b bytes.Buffer
	writeJSON(&b, root, "")
	b.WriteByte('\n')
	return b.Bytes()
}

// jsonPut sets the member at path segs (a key may hold dots) to value.
func jsonPut(obj jsonObject, segs []string, value any) (jsonObject, error) {
	return jsonSet(obj, segs, value, strings.Join(segs, "."))
}

// jsonSet sets the member at segs to value (a string or a jsonObject); it
// refuses to replace a member of another kind. key names it in errors.
func jsonSet(obj jsonObject, segs []string, value any, key string) (jsonObject, error) {
	idx := obj.index(segs[0])
	if len(segs) == 1 {
		if idx < 0 {
			return append(obj, jsonMember{key: segs[0], val: value}), nil
		}
		if have, want := jsonKind(obj[idx].val), jsonKind(value); have != want && obj[idx].val != nil {
			return nil, fmt.Errorf("key %s holds a %s, not a %s; refusing to replace it", key, have, want)
		}
		obj[idx].val = value
		return obj, nil
	}
	if idx < 0 {
		child, err := jsonSet(nil, segs[1:], value, key)
		if err != nil {
			return nil, err
		}
		return append(obj, jsonMember{key: segs[0], val: child}), nil
	}
	child, ok := obj[idx].val.(jsonObject)
	if !ok {
		return nil, fmt.Errorf("key %s: %s holds a %s, not an object", key, segs[0], jsonKind(obj[idx].val))
	}
	child, err := jsonSet(child, segs[1:], value, key)
	if err != nil {
		return nil, err
	}
	obj[idx].val = child
	return obj, nil
}

func (o jsonObject) index(key string) int {
	// The last duplicate wins, as in encoding/json.
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].key == key {
			return i
		}
	}
	return -1
}

func parseJSON(content []byte) (jsonObject, error) {
	if len(bytes.TrimSpace(content)) == 0 {
		return jsonObject{}, nil
	}
	if !utf8.Valid(content) {
		// encoding/json would turn the bad bytes into U+FFFD, and writing the
		// file back would change other keys' values.
		return nil, errors.New("not valid JSON: the file is not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not valid JSON: data after the top-level value")
	}
	obj, ok := v.(jsonObject)
	if !ok {
		return nil, fmt.Errorf("the top-level JSON value is a %s, not an object", jsonKind(v))
	}
	return obj, nil
}

func readJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := jsonObject{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, jsonMember{key: kt.(string), val: v})
			}
			_, err := dec.Token() // '}'
			return obj, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// writeJSONBlock writes an object's members or an array's elements, n of
// them, one per line indented below indent, between start and end; "{}" or
// "[]" when there are none.
func writeJSONBlock(b *bytes.Buffer, start, end string, n int, indent string, item func(i int)) {
	if n == 0 {
		b.WriteString(start + end)
		return
	}
	b.WriteString(start + "\n")
	for i := range n {
		b.WriteString(indent + "  ")
		item(i)
		if i < n-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(indent + end)
}

func writeJSON(b *bytes.Buffer, v any, indent string) {
	switch t := v.(type) {
	case jsonObject:
		writeJSONBlock(b, "{", "}", len(t), indent, func(i int) {
			writeJSONString(b, t[i].key)
			b.WriteString(": ")
			writeJSON(b, t[i].val, indent+"  ")
		})
	case []any:
		writeJSONBlock(b, "[", "]", len(t), indent, func(i int) { writeJSON(b, t[i], indent+"  ") })
	case string:
		writeJSONString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // a string always marshals
	b.Write(enc)
}

func jsonKind(v any) string {
	switch v.(type) {
	case jsonObject:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}
