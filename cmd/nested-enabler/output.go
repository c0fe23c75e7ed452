package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// Output formats of -o: a table for people, JSON or YAML for tools.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

func bindOutput(fs *pflag.FlagSet, format *string) {
	fs.StringVarP(format, "output", "o", outputTable, "output format: table, json or yaml")
}

func checkOutput(format string) error {
	switch format {
	case outputTable, outputJSON, outputYAML:
		return nil
	}
	return fmt.Errorf("--output %q: use table, json or yaml", format)
}

// writeStructured writes v as indented JSON or as YAML (format is json or
// yaml); YAML is the JSON form, so both name fields alike.
func writeStructured(w io.Writer, format string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == outputYAML {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}
