"""The 22 Python examples of the seeds (see seed_examples.py for how they are read and run)."""

from __future__ import annotations

from .seed_examples import Example

EXAMPLES = [
    # 000: LangGraph's "Human-in-the-loop" concept page (and its comments).
    Example("000-full-code", "000", blocks=(2,)),
    Example("000-subgraph-counters", "000", blocks=(20,)),
    Example("000-multiple-interrupts-pitfall", "000", blocks=(22,)),
    Example("000-comment-messages-state", "000", blocks=(26, 27, 28)),
    # 001: the "Human In The Loop" notebook.
    Example(
        "001-dynamic-interrupt",
        "001",
        cells=(
            ("None", 0, 'result = graph.invoke({"some_text": "original text"}, config=config)'),
            ("None", 1, "print(result['__interrupt__'])"),
            ("None", 2, 'print(graph.invoke(Command(resume="Edited text"), config=config))'),
            ("15", 0, "graph.get_state(config=config)"),
        ),
    ),
    Example(
        "001-resume-multiple",
        "001",
        cells=(
            ("27", 0, "graph.get_state(config=config)"),
            ("28", 0, "print(graph.invoke(Command(resume=resume_map), config=config))"),
            ("29", 0, "graph.get_state(config=config)"),
        ),
    ),
    Example("001-approval", "001", cells=(("30", 0, 'print(result["__interrupt__"])'), ("31", 0, "print(final_result)"))),
    Example("001-review-edit", "001", cells=(("32", 0, 'print(result["__interrupt__"])'), ("33", 0, "print(resumed_result)"))),
    Example(
        "001-review-tool-calls",
        "001",
        cells=(("35", 0, ")"), ("36", 0, '    print("\\n")'), ("37", 0, '    print("\\n")')),
    ),
    # 003: the Korean translation of 000.
    Example("003-full-code", "003", blocks=(2,)),
    Example("003-subgraph-counters", "003", blocks=(20,)),
    Example("003-multiple-interrupts-pitfall", "003", blocks=(22,)),
    # 004: "Enable human intervention".
    Example("004-extended-interrupt", "004", blocks=(1,)),
    Example("004-resume-multiple", "004", blocks=(3,)),
    Example("004-approve-or-reject", "004", blocks=(5,)),
    Example("004-edit-state", "004", blocks=(7,)),
    Example("004-review-tool-calls", "004", blocks=(8, 9, 10)),
    Example("004-add-human-in-the-loop", "004", blocks=(11, 12, 13)),
    Example("004-validate-input", "004", blocks=(15,)),
    Example("004-static-breakpoints", "004", blocks=(18,), needs=("004-validate-input",)),
    Example("004-subgraph-counters", "004", blocks=(22,)),
    Example("004-multiple-interrupts-pitfall", "004", blocks=(24,)),
]

BY_NAME = {example.name: example for example in EXAMPLES}
