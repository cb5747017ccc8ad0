package command

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// ConfigSyncCommand makes the stored agent instance configs match a
// directory of YAML files, like Grafana Agent's agentctl config-sync.
type ConfigSyncCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigSyncCommand) Name() string { return "config sync" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigSyncCommand) Synopsis() string {
	return "Make the agent instance configs match a directory"
}

// Help returns the command's usage text.
func (c *ConfigSyncCommand) Help() string {
	return `Usage: nomadlike config sync [options] <dir>

  Makes the stored agent instance configs match the directory <dir>. Each
  *.yaml or *.yml file directly in <dir> (subdirectories are skipped) is
  one config, named after the file without its extension. First every
  stored config with no file is deleted, printing "deleted <name>" (so a
  scrape job may move from a removed config to a new one); then the files
  are uploaded in lexical order, printing "created <name>" or
  "updated <name>". An upload or delete that fails is reported and the
  others go on; the exit code is then 1. A directory that cannot be read,
  or two files naming the same config, stop the command before any change.

` + generalOptionsUsage() + `

Sync Options:

  -dry-run
    Change nothing; print what a sync would do instead: "create <name>",
    "update <name>", "unchanged <name>" (the server holds the file's text,
    trailing whitespace aside) or "delete <name>".`
}

// localConfig is one config file of the directory.
type localConfig struct {
	name     string
	contents string
}

// Run runs the command.
func (c *ConfigSyncCommand) Run(args []string) int {
	var dryRun bool
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&dryRun, "dry-run", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <dir>")
	}
	local, err := readConfigDir(fs.Arg(0))
	if err != nil {
		return c.errorf("reading config directory", err)
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if dryRun {
		return c.dryRun(client, local)
	}
	return c.sync(client, local)
}

// sync deletes the stored configs the directory lacks, then uploads the
// directory. Deleting first lets a scrape job move from a config being
// removed to a new one: a job name may belong to one stored config only.
func (c *ConfigSyncCommand) sync(client *api.Client, local []localConfig) int {
	remote, _, err := client.Configs().List(nil)
	if err != nil {
		return c.errorf("listing configs", err)
	}
	inDir := make(map[string]bool, len(local))
	for _, lc := range local {
		inDir[lc.name] = true
	}
	code := 0
	for _, name := range sortedNames(remote) {
		if inDir[name] {
			continue
		}
		if _, err := client.Configs().Delete(name, nil); err != nil {
			code = c.errorf(fmt.Sprintf("deleting config %q", name), err)
			continue
		}
		c.Ui.Output("deleted " + name)
	}
	for _, lc := range local {
		created, _, err := client.Configs().Put(lc.name, lc.contents, nil)
		switch {
		case err != nil:
			code = c.errorf(fmt.Sprintf("uploading config %q", lc.name), err)
		case created:
			c.Ui.Output("created " + lc.name)
		default:
			c.Ui.Output("updated " + lc.name)
		}
	}
	return code
}

// dryRun prints what sync would do, reading but writing nothing.
func (c *ConfigSyncCommand) dryRun(client *api.Client, local []localConfig) int {
	remote, _, err := client.Configs().List(nil)
	if err != nil {
		return c.errorf("listing configs", err)
	}
	stored := make(map[string]bool, len(remote))
	for _, name := range remote {
		stored[name] = true
	}

	code := 0
	inDir := make(map[string]bool, len(local))
	for _, lc := range local {
		inDir[lc.name] = true
		if !stored[lc.name] {
			c.Ui.Output("create " + lc.name)
			continue
		}
		current, _, err := client.Configs().Get(lc.name, nil)
		switch {
		case api.IsNotFound(err): // deleted since the list
			c.Ui.Output("create " + lc.name)
		case err != nil:
			code = c.errorf(fmt.Sprintf("fetching config %q", lc.name), err)
		case sameConfig(current, lc.contents):
			c.Ui.Output("unchanged " + lc.name)
		default:
			c.Ui.Output("update " + lc.name)
		}
	}
	for _, name := range sortedNames(remote) {
		if !inDir[name] {
			c.Ui.Output("delete " + name)
		}
	}
	return code
}

// sameConfig reports whether two config texts are equal but for trailing
// whitespace.
func sameConfig(a, b string) bool {
	return strings.TrimRight(a, " \t\r\n") == strings.TrimRight(b, " \t\r\n")
}

// sortedNames returns a sorted copy of names without duplicates.
func sortedNames(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// readConfigDir reads the *.yaml and *.yml files directly in dir, in
// lexical order of file name. Two files naming the same config, or a file
// named only ".yaml", are errors.
func readConfigDir(dir string) ([]localConfig, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []localConfig
	from := map[string]string{} // config name -> file name
	for _, e := range entries {
		file := e.Name()
		ext := filepath.Ext(file)
		if ext != ".yaml" && ext != ".yml" {
			continue
		}
		path := filepath.Join(dir, file)
		info, err := os.Stat(path) // follows symlinks
		if err != nil {
			return nil, err
		}
		if info.IsDir() {
			continue
		}
		name := strings.TrimSuffix(file, ext)
		if name == "" {
			return nil, fmt.Errorf("%s: the file name gives an empty config name", path)
		}
		if prev, ok := from[name]; ok {
			return nil, fmt.Errorf("both %s and %s name the config %q", prev, file, name)
		}
		from[name] = file
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, localConfig{name: name, contents: string(b)})
	}
	return out, nil
}
