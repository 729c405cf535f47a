/* libyaml (libyaml-dev): sitewall composes YAML from its event stream (Input/YAMLTree.swift). */
#include <yaml.h>
