// Package web holds the pages' templates and static files, embedded in the
// binary so a deployment is one file.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates static
var files embed.FS

// Templates is the html/template sources: *.part.html are the layout and
// shared blocks, every other *.html is a page.
func Templates() fs.FS { return sub("templates") }

// Static is the CSS, scripts and images served under /static/.
func Static() fs.FS { return sub("static") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded: cannot happen
	}
	return f
}
