"""The template sandbox: Jinja2 narrowed to what store definitions need, with limits.

Templates apply **per scalar**: after a file is parsed, each string value holding
``{{`` or ``{%`` is rendered on its own (`compiler/render.py` does that walk). A string
that is exactly one ``{{ expression }}`` keeps the expression's type.

The sandbox is Jinja2's `ImmutableSandboxedEnvironment` narrowed further:

- `policy`: what templates may touch (only expressions and ``{% if %}``, allow-listed
  attributes, methods and filters, no ``%`` string formatting, small exponents);
- `budget`: what they may spend (a deadline for the run, caps on the characters every
  value built, on output, on integers and decimals, on template size and shapes);
- `strings`: linear-time versions of the str methods CPython does in quadratic time;
- `filters`: the filters and tests templates get, each charged to the budget;
- `environment`: the Jinja2 environment that applies the policy and the budget;
- `shapes`: templates compiled once per shape (literals, text and key names apart);
- `renderer`: one template in, one value out, problems as `TemplateProblem`;
- `messages`: Jinja2's errors reworded in the user's terms.
"""
