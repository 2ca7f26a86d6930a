"""Networks: a supervisor delegating to sub-agents as tools, with hooks, a context filter, a
delegation limit, a completion check, and the delegation tree in the trace."""

import pytest

from mastra.agent import Agent, DelegationComplete, DelegationStart, NetworkOptions, Reject
from mastra.errors import ValidationError
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall
from mastra.telemetry import InMemoryExporter, Telemetry


def delegate(*targets):
    """A response delegating to each (agent, prompt)."""
    calls = [ToolCall(f"d{i}", name, {"prompt": p}) for i, (name, p) in enumerate(targets)]
    return ModelResponse(message=Message.assistant(None, calls), finish_reason="tool_calls")


def supervisor_model(*turns):
    """Answers with each turn in order (a response or a function of the request)."""
    seen = []

    def answer(request):
        seen.append(request)
        turn = turns[min(len(seen), len(turns)) - 1]
        return turn(request) if callable(turn) else turn

    return FunctionModel(answer), seen


def worker(name, reply=None):
    seen = []

    def answer(request):
        seen.append(request)
        return reply(request) if callable(reply) else (reply or f"{name} says hi")

    return Agent(name, f"You are {name}.", FunctionModel(answer), description=f"The {name}"), seen


def tool_results(request):
    return {r.name: r.content for r in request.messages[-1].tool_results}


async def test_delegation_and_the_trace_tree():
    research, research_seen = worker("research", "Paris is the capital")
    writer, _ = worker("writer", "A poem about Paris")
    model, seen = supervisor_model(
        delegate(("research", "capital of France?"), ("writer", "poem about it")),
        lambda r: " / ".join(tool_results(r).values()),
    )
    exporter = InMemoryExporter()
    boss = Agent(
        "boss",
        model=model,
        agents={"research": research, "writer": writer},
        telemetry=Telemetry("t", exporters=[exporter]),
    )
    result = await boss.generate("Write about France's capital")
    assert result.text == "Paris is the capital / A poem about Paris"
    assert {t.name: t.description for t in seen[0].tools} == {
        "research": "The research",
        "writer": "The writer",
    }
    assert [m.text for m in research_seen[0].messages] == [
        "You are research.",
        "capital of France?",
    ]
    spans = {s.span_id: s for s in exporter.spans}
    runs = [s for s in exporter.spans if s.name == "agent.run"]
    boss_run = next(s for s in runs if s.attributes["gen_ai.agent.name"] == "boss")
    for name in ("research", "writer"):
        sub = next(s for s in runs if s.attributes["gen_ai.agent.name"] == name)
        tool_span = spans[sub.parent_id]
        assert tool_span.name == "tool.call"
        assert tool_span.attributes["mastra.delegation.agent"] == name
        assert tool_span.parent_id == boss_run.span_id and sub.trace_id == boss_run.trace_id


async def test_hooks_rewrite_reject_and_replace():
    research, research_seen = worker("research", "raw findings")
    writer, writer_seen = worker("writer")
    starts, completes = [], []

    async def on_start(start: DelegationStart):
        starts.append(start)
        if start.agent == "writer":
            return Reject("no writing today")
        return start.prompt + " (cite sources)"

    def on_complete(done: DelegationComplete):
        completes.append(done)
        return done.result.text.upper()

    model, _ = supervisor_model(
        delegate(("research", "find facts"), ("writer", "write")),
        lambda r: repr(tool_results(r)),
    )
    boss = Agent(
        "boss",
        model=model,
        agents=[research, writer],
        network=NetworkOptions(on_delegation_start=on_start, on_delegation_complete=on_complete),
    )
    result = await boss.generate("go", resource_id="u1")
    results = {r.name: r for r in result.steps[0].tool_results}
    assert results["research"].content == "RAW FINDINGS"
    assert results["writer"].is_error
    assert "the delegation to 'writer' was rejected: no writing today" in results["writer"].content
    assert research_seen[0].messages[-1].text == "find facts (cite sources)" and writer_seen == []
    assert [s.agent for s in starts] == ["research", "writer"]
    assert starts[0].resource_id == "u1" and starts[0].messages[0].text == "go"
    assert completes[0].prompt == "find facts (cite sources)" and completes[0].duration_ms >= 0


async def test_the_context_filter_decides_what_a_sub_agent_sees():
    research, research_seen = worker("research")
    model, _ = supervisor_model(delegate(("research", "dig")), "done")
    only_users = NetworkOptions(context_filter=lambda ms: [m for m in ms if m.role == "user"])
    boss = Agent("boss", "Secret instructions.", model, agents=[research], network=only_users)
    await boss.generate([Message.user("first"), Message.assistant("hm"), Message.user("second")])
    assert [m.text for m in research_seen[0].messages] == [
        "You are research.",
        "first",
        "second",
        "dig",
    ]


async def test_max_iterations_bounds_the_delegations():
    research, research_seen = worker("research")
    model, _ = supervisor_model(lambda r: delegate(("research", "again")))
    boss = Agent(
        "boss",
        model=model,
        agents=[research],
        max_steps=5,
        network=NetworkOptions(max_iterations=2),
    )
    result = await boss.generate("loop")
    assert result.finish_reason == "max_steps" and len(research_seen) == 2
    refused = result.steps[2].tool_results[0]
    assert refused.is_error and "delegation limit reached (2 per run)" in refused.content
    with pytest.raises(ValidationError, match="max_iterations must be an integer >= 1"):
        NetworkOptions(max_iterations=0)


async def test_the_completion_check_sends_the_supervisor_on():
    research, _ = worker("research", "42")
    checks = []

    def complete(draft):
        checks.append(draft.text)
        return True if "42" in draft.text else "You did not give the number; ask research."

    model, seen = supervisor_model(
        "I think it is big.",
        delegate(("research", "the number?")),
        lambda r: f"It is {tool_results(r)['research']}.",
    )
    boss = Agent(
        "boss", model=model, agents=[research], network=NetworkOptions(completion_check=complete)
    )
    result = await boss.generate("What is the number?")
    assert result.text == "It is 42." and result.finish_reason == "stop"
    assert checks == ["I think it is big.", "It is 42."]
    assert seen[1].messages[-1] == Message.user("You did not give the number; ask research.")


def test_bad_networks_are_refused():
    research, _ = worker("research")
    model, _ = supervisor_model("x")
    with pytest.raises(ValidationError, match="agents must be Agents"):
        Agent("boss", model=model, agents={"r": "research"})
    with pytest.raises(ValidationError, match="two tools named 'research'"):
        Agent("boss", model=model, tools=[research.as_tool()], agents=[research])
    boss = Agent("boss", model=model)
    with pytest.raises(ValidationError, match="cannot delegate to itself"):
        boss._add_agents({"me": boss})
