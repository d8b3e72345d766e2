#!/usr/bin/env python3
# Renders conversations with a checkpoint's real Jinja chat template (as transformers does: trim_blocks,
# lstrip_blocks, a tojson filter like json.dumps with ensure_ascii=False) and writes the results to
# tests/data/tokenizer/chat_expected.json, the byte-for-byte expectations of m1::render_m1_chat.
# Usage: tokenizer_render_chat.py PATH/TO/MiniMax-M1/tokenizer_config.json
import json
import pathlib
import sys

import jinja2

TOOLS = [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
         {"name": "search", "description": "Sök på webben — 検索", "parameters": {"type": "object"}}]

CASES = [
    ("system_user_assistant_tool", [
        ("system", "You are a helpful assistant.", ""),
        ("user", "Hi", ""),
        ("assistant", "<think>\nx\n</think>\nHello", ""),
        ("tool", "R", "f"),
        ("user", "Q2", ""),
    ], TOOLS[:1], True),
    ("no_system", [("user", "What is 2+2?", "")], [], True),
    ("two_systems_concatenated", [("system", "Be brief.", ""), ("user", "a", ""), ("system", " Be kind.", "")], [], False),
    ("multi_turn_no_prompt", [
        ("user", "Bonjour 👋", ""), ("assistant", "<think>\nThe user greets.\n</think>\nSalut !", ""),
        ("user", "Line1\nLine2\n\n", ""), ("assistant", "ok", ""),
    ], [], False),
    ("tools_only", [("user", "weather in Paris?", "")], TOOLS, True),
    ("tool_turns", [
        ("user", "x", ""), ("assistant", "<tool_calls>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n</tool_calls>", ""),
        ("tool", "{\"result\": [1, 2]}", "search"), ("tool", "", "empty"),
    ], TOOLS[1:], True),
    ("empty", [], [], True),
]


def to_template_message(role, content, name):
    if role == "tool":
        return {"role": role, "content": [{"type": "text", "name": name, "text": content}]}
    return {"role": role, "content": [{"type": "text", "text": content}]}


def main():
    config = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    template = env.from_string(config["chat_template"])
    out = []
    for name, msgs, tools, gen in CASES:
        rendered = template.render(messages=[to_template_message(*m) for m in msgs], tools=tools or None,
                                   add_generation_prompt=gen)
        out.append({"name": name, "messages": [{"role": r, "content": c, "name": n} for r, c, n in msgs],
                    "tools": [json.dumps(t, ensure_ascii=False) for t in tools], "add_generation_prompt": gen,
                    "rendered": rendered})
    dest = pathlib.Path(__file__).resolve().parents[1] / "data" / "tokenizer" / "chat_expected.json"
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{dest}: {len(out)} conversations")


if __name__ == "__main__":
    main()
