// Command build bundles Parley's front-ends into web/dist with esbuild's Go API, so no Node bundler is
// needed (npm only installs preact and TypeScript). Run it from web/ with `go generate ./web`; the output
// is committed so that `go build` works on a fresh clone, and CI rebuilds it and fails on any difference,
// which is why every byte of the output must depend on the sources alone.
//
// Output layout (URL paths are the same with the handler's mount point in front):
//
//	dist/widget.js                    loader; stable name referenced by host pages
//	dist/widget/panel-[hash].js       chat panel, imported by the loader on first click
//	dist/widget/page-[hash].js        the standalone chat page's script (the panel, full-page)
//	dist/console/index.html           console page, referencing:
//	dist/console/assets/[name]-[hash].js/.css
//	dist/manifest.json                logical name -> file, for Go code and tests
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "web/build:", err)
		os.Exit(1)
	}
}

// run parses flags, bundles everything in memory and only then replaces the output, so a failed build
// never leaves a half-written dist/ behind.
func run(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("build", flag.ContinueOnError)
	src := flags.String("src", ".", "the web/ directory: sources, tsconfig.json and node_modules")
	out := flags.String("out", "dist", "output directory; its widget.js, widget/, console/ and manifest.json are replaced")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	srcDir, err := filepath.Abs(*src)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(srcDir, "node_modules", "preact")); err != nil {
		return fmt.Errorf("preact is not installed (run `npm ci --prefix web` first): %w", err)
	}
	files, err := bundle(srcDir)
	if err != nil {
		return err
	}
	if err := write(*out, files); err != nil {
		return err
	}
	return report(stdout, *out, files)
}

// bundle builds every output file, keyed by its slash-separated path inside dist/.
func bundle(srcDir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	manifest := map[string]string{}

	// The panel goes first: the loader must embed the panel's hashed name.
	panel, err := build(srcDir, api.BuildOptions{
		EntryPoints: []string{"widget/src/panel.ts"},
		Format:      api.FormatESModule, // loaded with import(), so it can export mount()
		Target:      api.ES2017,
		Outdir:      "widget",
		EntryNames:  "panel-[hash]",
	})
	if err != nil {
		return nil, fmt.Errorf("widget panel: %w", err)
	}
	if len(panel) != 1 {
		return nil, fmt.Errorf("widget panel: want 1 output file, got %d", len(panel))
	}
	for name, body := range panel {
		files[name] = body
		manifest["widget/panel.js"] = name
	}

	panelJSON, err := json.Marshal(manifest["widget/panel.js"])
	if err != nil {
		return nil, err
	}
	loader, err := build(srcDir, api.BuildOptions{
		EntryPoints: []string{"widget/src/loader.ts"},
		// Host pages load it with a classic <script async>, which cannot be a module: IIFE keeps its
		// names out of the page's global scope.
		Format:  api.FormatIIFE,
		Target:  api.ES2017,
		Outfile: "widget.js",
		Define:  map[string]string{"__PARLEY_PANEL__": string(panelJSON)},
		// import() postdates ES2017, and esbuild would rewrite it to require() for that target. Every
		// browser with closed shadow roots also has import(), so it stays as written.
		Supported: map[string]bool{"dynamic-import": true},
	})
	if err != nil {
		return nil, fmt.Errorf("widget loader: %w", err)
	}
	if _, ok := loader["widget.js"]; !ok || len(loader) != 1 {
		return nil, fmt.Errorf("widget loader: want only widget.js, got %v", slices.Sorted(maps.Keys(loader)))
	}
	files["widget.js"] = loader["widget.js"]
	manifest["widget.js"] = "widget.js"

	// The standalone chat page (/chat/{site}) runs the same panel full-page; web.ChatPageHandler finds it
	// through the manifest.
	chatPage, err := build(srcDir, api.BuildOptions{
		EntryPoints: []string{"widget/src/page.ts"},
		Format:      api.FormatESModule,
		Target:      api.ES2017,
		Outdir:      "widget",
		EntryNames:  "page-[hash]",
	})
	if err != nil {
		return nil, fmt.Errorf("chat page: %w", err)
	}
	if len(chatPage) != 1 {
		return nil, fmt.Errorf("chat page: want 1 output file, got %d", len(chatPage))
	}
	for name, body := range chatPage {
		files[name] = body
		manifest["widget/page.js"] = name
	}

	console, err := build(srcDir, api.BuildOptions{
		EntryPoints:     []string{"console/src/main.tsx"},
		Format:          api.FormatESModule,
		Target:          api.ES2020, // agents use current browsers; the host-page widget is the conservative one
		Outdir:          "console",
		EntryNames:      "assets/[name]-[hash]",
		AssetNames:      "assets/[name]-[hash]",
		JSX:             api.JSXAutomatic,
		JSXImportSource: "preact",
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	var js, css []string
	for name, body := range console {
		files[name] = body
		switch path.Ext(name) {
		case ".js":
			js = append(js, name)
		case ".css":
			css = append(css, name)
		}
	}
	// Without code splitting one entry point gives one script and at most one stylesheet; anything else
	// means the build options changed and the index.html wiring below must change with them.
	if len(js) != 1 || len(css) > 1 {
		return nil, fmt.Errorf("console: want 1 script and at most 1 stylesheet, got %v and %v", js, css)
	}
	manifest["console/main.js"] = js[0]
	var links, scripts string
	scripts = fmt.Sprintf(`<script type="module" src="/%s"></script>`, js[0])
	if len(css) == 1 {
		manifest["console/main.css"] = css[0]
		links = fmt.Sprintf(`<link rel="stylesheet" href="/%s">`, css[0])
	}

	// The console is served at /console/ and deep links fall back to index.html, so references are
	// absolute: a relative "assets/x.js" would resolve to /console/some/route/assets/x.js.
	index, err := os.ReadFile(filepath.Join(srcDir, "console", "index.html"))
	if err != nil {
		return nil, err
	}
	for marker, tag := range map[string]string{"<!--parley:css-->": links, "<!--parley:js-->": scripts} {
		if bytes.Count(index, []byte(marker)) != 1 {
			return nil, fmt.Errorf("console/index.html must contain %s exactly once", marker)
		}
		index = bytes.Replace(index, []byte(marker), []byte(tag), 1)
	}
	files["console/index.html"] = index
	manifest["console/index.html"] = "console/index.html"

	// json.Marshal sorts map keys, so the manifest is as deterministic as the rest.
	m, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	files["manifest.json"] = append(m, '\n')
	return files, nil
}

// build runs one esbuild build in memory with the options every bundle shares and returns its output
// files keyed by their path inside dist/. opts.Outdir/Outfile are relative to dist/.
func build(srcDir string, opts api.BuildOptions) (map[string][]byte, error) {
	// Outputs are never written by esbuild (Write is false); this directory only names them. Keeping it
	// inside srcDir, whatever -out says, means nothing in the output can depend on where it is written.
	distDir := filepath.Join(srcDir, "dist")
	if opts.Outdir != "" {
		opts.Outdir = filepath.Join(distDir, opts.Outdir)
	}
	if opts.Outfile != "" {
		opts.Outfile = filepath.Join(distDir, opts.Outfile)
	}
	opts.AbsWorkingDir = srcDir
	opts.Bundle = true
	opts.Write = false
	opts.Platform = api.PlatformBrowser
	opts.MinifyWhitespace = true
	opts.MinifyIdentifiers = true
	opts.MinifySyntax = true
	// ASCII output (esbuild's default charset) keeps Chinese strings as \u escapes: the loader runs in
	// host pages that may be GBK-encoded, where raw UTF-8 in a script without a charset would garble.
	opts.Charset = api.CharsetASCII
	opts.LegalComments = api.LegalCommentsEndOfFile
	opts.Sourcemap = api.SourceMapNone
	opts.LogLevel = api.LogLevelWarning // warnings and errors go to stderr as esbuild formats them

	result := api.Build(opts)
	if len(result.Errors) > 0 {
		msgs := make([]string, len(result.Errors))
		for i, m := range result.Errors {
			msgs[i] = m.Text
			if m.Location != nil {
				msgs[i] = fmt.Sprintf("%s:%d:%d: %s", m.Location.File, m.Location.Line, m.Location.Column, m.Text)
			}
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	files := map[string][]byte{}
	for _, f := range result.OutputFiles {
		rel, err := filepath.Rel(distDir, f.Path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("esbuild wrote %s outside dist/", f.Path)
		}
		files[filepath.ToSlash(rel)] = f.Contents
	}
	return files, nil
}

// write replaces the build's own entries in out. It removes only what the build owns, so a mistaken
// -out cannot delete anything else, and removing them first drops stale hashed files that would
// otherwise be embedded forever.
func write(out string, files map[string][]byte) error {
	for _, owned := range []string{"widget.js", "widget", "console", "manifest.json"} {
		if err := os.RemoveAll(filepath.Join(out, owned)); err != nil {
			return err
		}
	}
	for name, body := range files {
		p := filepath.Join(out, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// report prints each file with its raw and gzip size, so a change's cost shows up in review.
func report(w io.Writer, out string, files map[string][]byte) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		gz, err := gzipSize(files[name])
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%-48s %8d bytes %8d gzip\n",
			filepath.ToSlash(filepath.Join(out, name)), len(files[name]), gz); err != nil {
			return err
		}
	}
	return nil
}

// gzipSize is the size the server's gzip (best compression, see web.go) gives body.
func gzipSize(body []byte) (int, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(body); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}
