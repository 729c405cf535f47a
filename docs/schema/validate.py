#!/usr/bin/env python3
"""Checks YAML files against sitewall's JSON Schemas.

    python validate.py site Examples/*.yaml
    python validate.py profile Profiles/protocols/modbus.yaml
    python validate.py profile-set Profiles/profile-set.yaml

Prints 'FILE: ok' for each file that matches, or each problem as 'FILE:LINE:COLUMN: PATH: message'.
Exits 0 when every file matches, 1 when one does not, 2 on a usage error. Needs jsonschema and PyYAML.

Scalars are read as YAML 1.2 reads them (as editors do): 'yes' and '2024-01-01' stay text, 2080 is a
number. Mapping keys are taken as written. A key written twice in one mapping is an error, as it is
for sitewall.
"""

import json
import os
import re
import sys

import yaml
from jsonschema import Draft202012Validator

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = ("site", "profile", "profile-set")

# YAML 1.2 core schema: what an editor's YAML language server reads a plain scalar as.
PLAIN = "!validate.py/plain"
NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
TRUE = re.compile(r"^(?:true|True|TRUE)$")
FALSE = re.compile(r"^(?:false|False|FALSE)$")
INT10 = re.compile(r"^[-+]?[0-9]+$")
INT8 = re.compile(r"^0o[0-7]+$")
INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


class Problem(Exception):
    def __init__(self, message, mark=None):
        super().__init__(message)
        self.message = message
        self.mark = mark


class Loader(yaml.SafeLoader):
    """Composes nodes only; plain scalars keep a private tag so this script resolves them itself."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return PLAIN
        return super().resolve(kind, value, implicit)


def plain_value(text):
    if NULL.match(text):
        return None
    if TRUE.match(text):
        return True
    if FALSE.match(text):
        return False
    if INT10.match(text):
        return int(text)
    if INT8.match(text):
        return int(text[2:], 8)
    if INT16.match(text):
        return int(text[2:], 16)
    if FLOAT.match(text):
        return float(text)
    if INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if NAN.match(text):
        return float("nan")
    return text


def convert(node, path, marks, problems):
    """The node as JSON-like data; records where each value (path) and each key (path + ('key',)) is written."""
    marks[path] = node.start_mark
    if isinstance(node, yaml.ScalarNode):
        if node.tag == PLAIN:
            return plain_value(node.value)
        if node.tag == "tag:yaml.org,2002:null":
            return None
        if node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on")
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            value = plain_value(node.value)
            return value if isinstance(value, (int, float)) and not isinstance(value, bool) else node.value
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [convert(item, path + (index,), marks, problems) for index, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem("a key that is not a plain name", key_node.start_mark))
                continue
            key = key_node.value
            if key in result:
                problems.append(
                    Problem(f"'{key}' appears twice in the same mapping (first at line "
                            f"{marks[path + (key, 'key')].line + 1})", key_node.start_mark))
                continue
            marks[path + (key, "key")] = key_node.start_mark
            result[key] = convert(value_node, path + (key,), marks, problems)
        return result
    raise Problem(f"unsupported YAML node {node!r}", node.start_mark)


def load(file):
    with open(file, encoding="utf-8") as handle:
        text = handle.read()
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as error:
        problem = " ".join(part for part in (error.context, error.problem) if part) or str(error)
        raise Problem(f"YAML syntax: {problem}", error.problem_mark or error.context_mark)
    except yaml.YAMLError as error:
        raise Problem(f"YAML syntax: {error}")
    if node is None:
        raise Problem("the file is empty")
    marks, problems = {}, []
    data = convert(node, (), marks, problems)
    return data, marks, problems


def show_path(path):
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            part = str(part)
            text += ("." if text else "") + (part if re.match(r"^[A-Za-z0-9_/-]+$", part) else json.dumps(part))
    return text or "(top)"


def unexpected_keys(error):
    """The keys an additionalProperties error is about."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [key for key in error.instance
            if key not in known and not any(re.search(pattern, key) for pattern in patterns)]


def mismatch(error, path):
    """Whether the error only says the value at `path` has another type (or shape) than a branch wants."""
    if tuple(error.absolute_path) != path:
        return False
    if error.validator in ("type", "const", "enum"):
        return True
    if error.validator in ("anyOf", "oneOf") and error.context:
        return all(mismatch(inner, path) for inner in error.context)
    return False


def explain(error):
    """The most telling error: of an anyOf/oneOf, the deepest error of the one branch written for the value's
    shape; the anyOf/oneOf itself when no branch, or more than one, fits."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return error
    path = tuple(error.absolute_path)
    branches = {}
    for inner in error.context:
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)
    relevant = {branch: errors for branch, errors in branches.items()
                if not any(mismatch(inner, path) for inner in errors)}
    if not relevant:
        return error
    depth = max(len(inner.absolute_path) for errors in relevant.values() for inner in errors)
    deepest = [(branch, inner) for branch, errors in relevant.items() for inner in errors
               if len(inner.absolute_path) == depth]
    if len({branch for branch, _ in deepest}) > 1:
        return error
    return explain(deepest[0][1])


def hint(schema):
    """The first sentence of a schema's description."""
    text = schema.get("description", "") if isinstance(schema, dict) else ""
    return re.split(r"\.\s+(?=[A-Z])", text)[0].rstrip(".")


def describe(error):
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = json.dumps(error.instance, default=str)
    value = value if len(value) <= 60 else value[:57] + "..."
    if error.validator == "pattern" and (schema.get("patternErrorMessage") or schema.get("errorMessage")):
        return f"{value}: " + (schema.get("patternErrorMessage") or schema.get("errorMessage"))
    if schema.get("errorMessage"):
        return schema["errorMessage"]
    if error.validator in ("anyOf", "oneOf"):
        expected = hint(schema)
        return f"{value} is not valid here" + (f" ({expected})" if expected else "")
    if error.validator == "pattern":
        expected = hint(schema)
        return f"{value} is not in the expected form" + (f" ({expected})" if expected else "")
    if error.validator == "not":
        return f"{value} is not allowed here"
    return error.message


def report(lines, file, path, mark, message):
    where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark is not None else file
    text = f"{where}: {show_path(path)}: {message}" if path is not None else f"{where}: {message}"
    lines.append(((mark.line, mark.column) if mark is not None else (-1, -1), text))


def check(file, validator):
    try:
        data, marks, problems = load(file)
    except OSError as error:
        print(f"{file}: cannot read: {error.strerror}")
        return False
    except UnicodeDecodeError:
        print(f"{file}: not UTF-8 text")
        return False
    except Problem as problem:
        lines = []
        report(lines, file, None, problem.mark, problem.message)
        print(lines[0][1])
        return False
    lines = []
    for problem in problems:
        report(lines, file, None, problem.mark, problem.message)
    for error in validator.iter_errors(data):
        error = explain(error)
        path = tuple(error.absolute_path)
        extra = unexpected_keys(error)
        if extra:
            for key in extra:
                report(lines, file, path + (key,), marks.get(path + (key, "key")), f"unknown key '{key}'")
            continue
        if "propertyNames" in error.relative_schema_path:
            # The error's instance is the offending key itself.
            key = error.instance
            expected = hint(error.schema)
            report(lines, file, path + (key,), marks.get(path + (key, "key")),
                   f"name '{key}' is not in the expected form" + (f" ({expected})" if expected else ""))
            continue
        report(lines, file, path, marks.get(path), describe(error))
    for _, text in sorted(lines, key=lambda line: line[0]):
        print(text)
    if lines:
        return False
    print(f"{file}: ok")
    return True


def main(arguments):
    if len(arguments) < 2 or arguments[0] not in SCHEMAS:
        print(f"usage: validate.py {{{'|'.join(SCHEMAS)}}} FILE...", file=sys.stderr)
        return 2
    with open(os.path.join(HERE, f"{arguments[0]}.schema.json"), encoding="utf-8") as handle:
        schema = json.load(handle)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    results = [check(file, validator) for file in arguments[1:]]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
