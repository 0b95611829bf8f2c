package api_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// renderReference writes the OpenAPI document as a Markdown reference for
// integrators (docs/api.md): no scripts, readable on GitHub and offline.
func renderReference(doc *openapi3.T) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# %s\n\n", doc.Info.Title)
	p("<!-- Generated from api/openapi.yaml by TestAPIReference (api/openapi_reference_test.go); do not edit. -->\n\n")
	p("OpenAPI %s · 版本 %s · 机器可读的文档：`GET /api/v1/openapi.json`\n\n", doc.OpenAPI, doc.Info.Version)
	p("%s\n", strings.TrimSpace(doc.Info.Description))

	p("\n## 认证方式\n\n| 名称 | 方式 | 说明 |\n|---|---|---|\n")
	names := keys(doc.Components.SecuritySchemes)
	for _, n := range names {
		s := doc.Components.SecuritySchemes[n].Value
		how := s.Type
		if s.Type == "apiKey" {
			how = fmt.Sprintf("%s `%s`", s.In, s.Name)
		} else if s.Scheme != "" {
			how = s.Type + " " + s.Scheme
		}
		p("| `%s` | %s | %s |\n", n, how, cell(s.Description))
	}

	p("\n## 枚举值\n\n| 名称 | 取值 | 含义 |\n|---|---|---|\n")
	for _, n := range keys(doc.Components.Schemas) {
		s := doc.Components.Schemas[n].Value
		if len(s.Enum) == 0 {
			continue
		}
		vals := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			vals[i] = fmt.Sprintf("`%v`", v)
		}
		p("| %s | %s | %s |\n", n, strings.Join(vals, " "), cell(s.Description))
	}

	type entry struct {
		method, path string
		op           *openapi3.Operation
	}
	byTag := map[string][]entry{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			tag := "其他"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			byTag[tag] = append(byTag[tag], entry{method, path, op})
		}
	}
	for _, tag := range doc.Tags {
		es := byTag[tag.Name]
		sort.Slice(es, func(i, j int) bool {
			if es[i].path != es[j].path {
				return es[i].path < es[j].path
			}
			return es[i].method < es[j].method
		})
		p("\n## %s\n", tag.Name)
		if tag.Description != "" {
			p("\n%s\n", tag.Description)
		}
		for _, e := range es {
			op := e.op
			p("\n### `%s %s`\n\n%s\n\n", e.method, e.path, op.Summary)
			if op.Description != "" {
				p("%s\n\n", strings.TrimSpace(op.Description))
			}
			roles, _ := op.Extensions["x-roles"].([]any)
			rs := make([]string, len(roles))
			for i, r := range roles {
				rs[i] = fmt.Sprintf("`%v`", r)
			}
			p("- 角色：%s\n", strings.Join(rs, " "))
			if st, ok := op.Extensions["x-stage"]; ok {
				p("- 阶段：`%v`\n", st)
			}
			if op.Security != nil && len(*op.Security) > 0 {
				var ss []string
				for _, req := range *op.Security {
					ss = append(ss, strings.Join(keys(req), "+"))
				}
				p("- 认证：%s\n", strings.Join(ss, " 或 "))
			}
			if len(op.Parameters) > 0 {
				p("\n| 参数 | 位置 | 类型 | 说明 |\n|---|---|---|---|\n")
				for _, pr := range op.Parameters {
					v := pr.Value
					p("| `%s` | %s | %s | %s |\n", v.Name, v.In, schemaType(v.Schema), cell(v.Description))
				}
			}
			if op.RequestBody != nil {
				rb := op.RequestBody.Value
				for _, ct := range keys(rb.Content) {
					mt := rb.Content[ct]
					p("\n请求体 `%s`：\n\n", ct)
					fields(p, mt.Schema)
					if mt.Example != nil {
						j, _ := json.MarshalIndent(mt.Example, "", "  ")
						p("\n示例：\n\n```json\n%s\n```\n", j)
					}
				}
			}
			p("\n| 状态 | 说明 | 内容 |\n|---|---|---|\n")
			for _, code := range keys(op.Responses.Map()) {
				r := op.Responses.Map()[code].Value
				var cts []string
				for _, ct := range keys(r.Content) {
					name := ct
					if s := r.Content[ct].Schema; s != nil && s.Ref != "" {
						name += " " + refName(s.Ref)
					}
					cts = append(cts, name)
				}
				desc := ""
				if r.Description != nil {
					desc = *r.Description
				}
				p("| %s | %s | %s |\n", code, cell(desc), strings.Join(cts, ", "))
			}
			for _, code := range keys(op.Responses.Map()) {
				r := op.Responses.Map()[code]
				if !strings.HasPrefix(code, "2") || r.Value.Content["application/json"] == nil {
					continue
				}
				if s := r.Value.Content["application/json"].Schema; s != nil && s.Ref == "" && len(s.Value.Properties) > 0 {
					p("\n%s 的内容：\n\n", code)
					fields(p, s)
				}
			}
		}
	}

	p("\n## 数据结构\n")
	for _, n := range keys(doc.Components.Schemas) {
		s := doc.Components.Schemas[n]
		if len(s.Value.Enum) > 0 {
			continue
		}
		p("\n### %s\n\n", n)
		if s.Value.Description != "" {
			p("%s\n\n", strings.TrimSpace(s.Value.Description))
		}
		fields(p, s)
	}
	return b.String()
}

// fields prints an object schema's properties as a table.
func fields(p func(string, ...any), s *openapi3.SchemaRef) {
	if s == nil {
		return
	}
	if s.Ref != "" {
		p("见 %s。\n", refName(s.Ref))
		return
	}
	v := s.Value
	if len(v.Properties) == 0 {
		p("%s\n", schemaType(s))
		return
	}
	p("| 字段 | 类型 | 必有 | 说明 |\n|---|---|---|---|\n")
	for _, name := range keys(v.Properties) {
		f := v.Properties[name]
		req := ""
		for _, r := range v.Required {
			if r == name {
				req = "是"
			}
		}
		p("| `%s` | %s | %s | %s |\n", name, schemaType(f), req, cell(f.Value.Description))
	}
	if v.AdditionalProperties.Has != nil && !*v.AdditionalProperties.Has {
		p("\n不含其他字段。\n")
	}
}

func schemaType(s *openapi3.SchemaRef) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return refName(s.Ref)
	}
	v := s.Value
	t := strings.Join(v.Type.Slice(), "/")
	if v.Type.Is("array") && v.Items != nil {
		t = "[" + schemaType(v.Items) + "]"
	}
	if v.Format != "" {
		t += " (" + v.Format + ")"
	}
	if len(v.Enum) > 0 {
		vals := make([]string, len(v.Enum))
		for i, e := range v.Enum {
			vals[i] = fmt.Sprint(e)
		}
		t += ": " + strings.Join(vals, " \\| ")
	}
	if len(v.OneOf) > 0 {
		var alts []string
		for _, o := range v.OneOf {
			alts = append(alts, schemaType(o))
		}
		t = strings.Join(alts, " 或 ")
	}
	return t
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), "\n", " "), "|", "\\|")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
