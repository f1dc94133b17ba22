"""`{% fragment %}…{% endfragment %}`: markup that is the same for every request
in a language, rendered once and kept.

Why: the layout (base.html) is mostly fixed text, but rendering it through the
template engine costs a `gettext` per label, a `reverse()` per link and a
storage look-up per `{% static %}`: about 0.6 ms of every page, more than the
search behind the search page (issue 18). A fragment keeps its output per
process, keyed by everything such markup can depend on: the active language,
the script prefix (links), autoescaping, and the values named after the tag
(`{% fragment service_phase %}`). Any change of settings (tests'
override_settings) forgets every fragment.

A fragment must not print anything else that varies: no request, user,
CSRF token, message or date. It may not hold a `{% block %}` (a child
template could override it, and the fragment would keep the first one).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

# Entries per fragment before it starts over: languages x script prefixes x
# the few values of its keys; a bound, not a working size.
FRAGMENT_CACHE_SIZE = 64

_generation = 0


@receiver(setting_changed)
def _forget_fragments(**_kwargs: Any) -> None:
    global _generation
    _generation += 1


def generation() -> int:
    """Changes whenever settings do: for other caches of rendered markup."""
    return _generation


class FragmentNode(template.Node):
    # Not searched for blocks: `{% extends %}` walks every node of the parent
    # on each render to find them, and a fragment holds none (checked below).
    child_nodelists = ()

    def __init__(self, nodelist: NodeList, vary_on: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.vary_on = vary_on
        # On the node: the cached template loader keeps one node per template
        # for the life of the process, and a reloaded template starts afresh.
        self.rendered: dict[tuple[Any, ...], SafeString] = {}

    def render(self, context: Context) -> SafeString:
        key = (
            _generation,
            get_language(),
            get_script_prefix(),
            context.autoescape,
            *(value.resolve(context) for value in self.vary_on),
        )
        html = self.rendered.get(key)
        if html is None:
            html = mark_safe(self.nodelist.render(context))  # noqa: S308 (the engine's own output)
            if len(self.rendered) >= FRAGMENT_CACHE_SIZE:
                self.rendered.clear()
            self.rendered[key] = html
        return html


@register.tag
def fragment(parser: Parser, token: Token) -> FragmentNode:
    """`{% fragment [value …] %}…{% endfragment %}` (see the module doc)."""
    vary_on = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError("{% fragment %} may not contain a {% block %}")
    return FragmentNode(nodelist, vary_on)
