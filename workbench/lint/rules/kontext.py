"""Kontext rules about the edit instruction: what to change and what to keep (FX301, FX302;
the runs' sizes and edit chains are in `kontext_runs`).

Sources: the Kontext announcement (seed 001: iterate edit by edit; after six successive
edits quality visibly degrades; "change 'A' to 'B'" for text), the Kontext deployment note
(seed 004: guidance 2.5, "Add a hat to the cat"), and the FLUX guide's Kontext section
(seed 000: clear action-oriented instructions, one change at a time, quotes for text).
"""

from __future__ import annotations

from ..diagnostic import Edit, Fix
from ..registry import Hit, rule
from ..textutil import Caseless, Lazy, inside, item_span

KONTEXT_GUIDE = "FLUX guide (seed 000), \"Kontext\"; BFL Kontext editing guide"

_VAGUE = Caseless(
    r"\b(?:make\s+(?:it|this|the\s+(?:image|picture|photo))\s+(?:look\s+)?"
    r"(?:better|nicer|good|great|cool|cooler|prettier|more\s+beautiful|professional|pop|"
    r"perfect|amazing|awesome)|"
    # "Make this sword look more visually appealing": how much better, in what way?
    r"look\s+more\s+(?:visually\s+)?(?:appealing|attractive|beautiful|pleasing|"
    r"professional|polished|impressive)|"
    # ("enhance resolution" is an upscale: a named, measurable change)
    r"(?:improve|enhance)(?!\s+(?:the\s+)?(?:resolution|sharpness|clarity|definition)\b)"
    r"(?:\s+(?:it|this|(?:the\s+)?(?:image|picture|photo|quality)))?"
    r"|fix\s+(?:it|this|the\s+image)"
    r"|better\s+quality|more\s+beautiful|make\s+it\s+pop)\b")
_CHANGE_VERB = Caseless(
    r"(?:^|[.;!?]\s*|,\s*(?:and\s+|then\s+)?|\b(?:and|then|also|plus)\s+)"
    r"((?:change|make|add|remove|replace|turn|put|give|swap|convert|transform|move|set|"
    r"delete|erase|recolou?r|paint|place|insert|switch)\b)")
_REMOVAL = ("remove", "delete", "erase")
#: A conversion into a designed layout that carries words of its own.
_INTO_LAYOUT = Caseless(r"(?:transform|turn|convert|make)\s+(?:it\s+|this\s+|the\s+\w+\s+)?"
                        r"into\s+(?:an?\s+)?(?:[\w'-]+\s+){0,3}?(?:poster|cover|flyer|"
                        r"banner|advertisement|ad|magazine\s+cover|album\s+cover|"
                        r"book\s+cover|thumbnail|billboard|postcard|meme)\b")
#: What such a layout's words are: "add an eerie tagline", "add a title and credits".
_LAYOUT_TEXT = Caseless(r"\s+(?:an?\s+|the\s+)?(?:[\w'-]+\s+){0,2}?(?:tagline|title|"
                        r"headline|text|caption|credits|slogan|logo|lettering|subtitle)s?\b")
_PERSON_PRONOUN = Caseless(r"\b(?:she|he|her|him|his|hers|they|them|their)\b")
_IT = Caseless(r"\b(?:change|make|turn|put|move|convert|transform|paint|recolou?r|"
           r"give|rotate|flip|replace)\s+it\b")
_PEOPLE = (
    "woman|man|girl|boy|person|people|child|children|kid|kids|lady|guy|character|figure|"
    "model|subject|couple|baby|family|men|women|baker|worker|dancer|player|rider|driver|"
    "singer|teacher|farmer|soldier|officer|doctor|nurse|chef|waiter|waitress|mother|"
    "father|sister|brother|daughter|son|grandmother|grandfather|bride|groom|king|queen|"
    "prince|princess|actor|actress|student|friend|stranger|traveller|traveler|musician|"
    "fisherman|knight|warrior|athlete|runner|artist|painter|cat|dog|horse|bird")
_ANTECEDENT = Caseless(rf"\b(?:the|a|an|this|that|these|those|my|our)\s+"
                   rf"(?:[\w-]+\s+){{0,4}}?(?:{_PEOPLE})\b")
#: A keep clause that names what it keeps before a "their" or "them" (which then refers
#: to those things, not to a person).
_THINGS_KEPT = Caseless(r"\b(?:keep|keeping|maintain|maintaining|preserve|preserving|leave|"
                        r"leaving)\s+(?:the|all|both)\s+(?:[\w'-]+\s+){1,5}?(?:in|at|on|with)"
                        r"\s+\Z")
_THING = Caseless(r"\b(?:the|a|an|this|that|these|those|my|our)\s+\w+")
#: ... or with a name ("Professor Wiz, the owl mascot, is now at a podium ... his notes").
_OPENING_NAME = Lazy(r"\s*(?!(?:She|He|They|It|Her|His|Him|Them|This|That|These|Those|The|"
                     r"A|An|Make|Change|Put|Give|Turn|Add|Remove|Replace)\b)"
                     r"(?:[A-Z][\w'’-]+\s+){0,2}[A-Z][\w'’-]+(?:\s*,|\s+(?:is|was|has|"
                     r"stands|sits|walks|holds|wears)\b)")
#: An instruction that opens with who it is about ("The wizard with a long beard is now
#: underwater, his staff glowing"): a later "his" or "her" refers back to it.
_OPENING_SUBJECT = Caseless(r"\s*(?:the|this|that)\s+(?!(?:background|backdrop|sky|scene|"
                            r"image|photo|picture|setting|room|wall|floor|text|sign|car|"
                            r"house|building|street|weather|light|lighting|colou?rs?)\b)"
                            r"[a-z][\w-]*\b")
_TEXT_EDIT = Caseless(r"\b(?:text|word|words|wording|sign|title|label|caption|lettering|"
                  r"headline|slogan|letters|inscription|writing)\b")
_ADDED_TEXT = Caseless(r"\bwith\s+the\s+(?:text|words?|caption|title|slogan)\s+(?=[a-z0-9])")
#: What a label or sign becomes when the edit redesigns it rather than rewording it.
_GRAPHIC_TARGET = Caseless(r"\s*(?:with|to|into)\s+(?:an?\s+|the\s+)?(?:[\w'-]+\s+){0,4}?"
                           r"(?:design|graphic|artwork|pattern|illustration|logo|drawing|"
                           r"texture)s?\b")
#: ... unless the edit says what the new one reads.
_SPELLED = Caseless(r"\b(?:reads?|reading|says?|saying|spell\w*|written|wording|words?|"
                    r"letters?|lettering)\b")
_TEXT_VERB = Caseless(r"\b(?:change|replace|edit|rewrite|update|swap|translate|fix|"
                  r"correct|rename|alter)\b")
_PRESERVE = Caseless(r"\b(?:keep|keeping|kept|maintain|maintaining|preserve|preserving|"
                 r"retain|retaining|same|unchanged|intact|untouched|as\s+it\s+is|"
                 r"identical|exact|exactly|without\s+(?:chang|alter|affect|modify)\w*)\b")


def _instruction_fields(ctx):
    return ctx.prose_fields if ctx.is_edit else []


#: An edit with nothing to change it to: "Change the background", "Replace the sky."
_OBJECT_WORD = r"(?!(?:to|into|with|for|as|from|by|in)\b)[\w'-]+"
_TARGETLESS = Caseless(
    rf"\s*(?:please\s+)?(?:change|replace|alter|modify|swap|update|edit|redo)\s+"
    rf"(?:the\s+|this\s+|that\s+|her\s+|his\s+|their\s+|its\s+)?(?:{_OBJECT_WORD}\s+){{0,2}}?"
    rf"{_OBJECT_WORD}(?:\s+of\s+(?:the|this|that|her|his|their)\s+[\w'-]+)?\s*[.!]?\s*\Z")
#: "... in a different outfit", "... into another pose": a target that names nothing.
#: (A camera left to find "a new position" or "another angle" is a choice BFL's guide makes
#: on purpose: "Randomly move the camera to a new position".)
_UNSPECIFIED = Caseless(r"\b(?:a|an|some)\s+(?:different|another|new|other)\s+"
                    r"(?!(?:position|angle|viewpoint|view|perspective|vantage\s+point)\b)"
                    r"([\w-]+)"
                    r"\s*[.!]?\s*\Z|\bput\s+(?:this|the\s+same|the)\s+person\s+in\s+"
                    r"(?:a|an)\s+[\w\s-]+?\s+(?:film|movie|scene|setting)\s*[.!]?\s*\Z")
#: After "it": a whole-image target (a style, a medium, a time of day), so "it" is the image.
_IMAGE_TARGET = Caseless(
    r"\s*(?:look\s+like|into|to|as)?\s*(?:an?\s+|the\s+)?(?:[\w'-]+\s+){0,3}?(?:style|sketch|"
    r"cartoon|photo|photograph|painting|drawing|illustration|anime|manga|watercolou?r|"
    r"render|comic|pixel\s+art|3d|claymation|night|nighttime|night-time|midnight|daytime|day|"
    r"dusk|dawn|evening|morning|winter|summer|autumn|spring|sunset|black\s+and\s+white|"
    r"monochrome|sepia|realistic|photorealistic|hyperrealistic|lifelike|cinematic|vintage|"
    r"retro)\b")


def _first_preserve(text: str, lower: str) -> int:
    m = _PRESERVE.search(text, lower=lower)
    return m.start() if m else len(text)


@rule("kontext-instruction", "FX301", "warning",
      needs=("edit",), family="kontext", fix="unsafe",
      summary="vague, bundled, targetless, pronoun-only or unquoted text edit",
      rationale="Kontext edits what the instruction names and nothing else: be specific "
                "(\"make it better\" says nothing), say what to change it to (\"change the "
                "background to a beach\", not \"change the background\"), make one change "
                "per edit, name the person (\"the woman with short black hair\", not "
                "\"her\"; an info, since Kontext usually finds the only person), and quote "
                "the new text (Change the text on the sign to \"WELCOME\"; Replace 'old' "
                "with 'new' is best).",
      source=f"{KONTEXT_GUIDE}; Kontext announcement (seed 001) examples")
def kontext_instruction(ctx):
    for field, text in _instruction_fields(ctx):
        # (the patterns match the lower-cased text: what they found is shown from ``text``)
        lower = ctx.lower(field, text)
        quotes = ctx.quotes(field, text)
        vague = [m.span() for m in _VAGUE.finditer(text, lower=lower)]
        for start, end in vague:
            yield Hit(field, start, end, f"{text[start:end]!r} is too vague for an edit",
                      suggestion="say exactly what changes: \"change the sky to a warm "
                                 "orange sunset\"")
        if not vague:
            m = _TARGETLESS.match(text, lower=lower)
            if m and not quotes:  # advice: BFL's guides leave the choice to Kontext at times
                yield Hit(field, *m.span(), "says what to change but not what to change it to",
                          suggestion="add the target: \"... to a quiet beach at sunset\"",
                          severity="info")
            else:
                m = _UNSPECIFIED.search(text, lower=lower)
                if m:
                    yield Hit(field, *m.span(), "the new look is not described",
                              suggestion="describe it: \"... in a navy linen suit\"")
        verbs = _changes(text, lower, quotes)
        if len(verbs) >= 2:  # advice: BFL's own guides bundle two related changes at times
            yield Hit(field, verbs[1].start(1), verbs[-1].end(1),
                      f"{len(verbs)} changes in one edit; Kontext does best with one at a "
                      "time", suggestion="split it into successive edits (a chain)",
                      severity="info")
        m = _PERSON_PRONOUN.search(text, lower=lower)
        if m and _THINGS_KEPT.search(text, max(0, m.start() - 80), m.start(), lower=lower):
            m = None  # "keeping the road and buildings in their original appearance"
        if m and not _ANTECEDENT.search(text, 0, m.start(), lower=lower) \
                and not _OPENING_SUBJECT.match(text, lower=lower) \
                and not _OPENING_NAME.match(text):
            if not (quotes and inside(quotes, *m.span())):
                yield Hit(field, *m.span(),
                          f"{text[m.start():m.end()]!r} does not say who; Kontext may pick "
                          "the wrong person",
                          suggestion="name them: \"the woman with short black hair\"",
                          severity="info")
        m = _IT.search(text, lower=lower)
        if m and not _THING.search(text, 0, m.start(), lower=lower) \
                and not inside(vague, *m.span()) \
                and not _IMAGE_TARGET.match(text, m.end(), lower=lower):
            it = m.end() - 2
            yield Hit(field, it, m.end(), "\"it\" does not say what to change",
                      suggestion="name the object: \"the red car\"")
        m = None if quotes else _unquoted_text_edit(text, lower)
        if m:
            yield Hit(field, *m.span(), "a text edit without the new text in quotes",
                      suggestion="write: Replace 'OLD TEXT' with 'NEW TEXT' (or at least "
                                 "quote the new text)")


def _unquoted_text_edit(text: str, lower: str):
    """Where an edit without quotes asks for new text (a text noun with a verb that changes
    it, or "with the text Hi"), or None."""
    m = next((m for m in _TEXT_EDIT.finditer(text, lower=lower)
              if not _PRESERVE.search(text, (item_span(text, *m.span()) or (0,))[0],
                                      m.start(), lower=lower)), None)
    if m and not _TEXT_VERB.search(text, lower=lower):  # no "change the text ...":
        m = _ADDED_TEXT.search(text, lower=lower)  # only new text ("with the text Hi")
    if m and _GRAPHIC_TARGET.match(text, m.end(), m.end() + 60, lower=lower) \
            and not _SPELLED.search(text, lower=lower):
        return None  # "replace the label with an abstract label design": no text asked for
    return m


def _changes(text: str, lower: str, quotes) -> list:
    """The verbs of the separate changes an edit asks for (their group 1 is the verb)."""
    # separate changes before the first "while keeping ..." (what follows it is detail)
    limit = _first_preserve(text, lower)
    verbs = [m for m in _CHANGE_VERB.finditer(text, 0, limit, lower=lower)
             if not (quotes and inside(quotes, *m.span(1)))]
    # "remove X, replace it with Y" is one replacement, not two changes; and removals
    # one after another ("Remove the furniture. Remove the lights, carpets...") are
    # one clean-up, as BFL's own clean-up examples write it
    verbs = [m for i, m in enumerate(verbs)
             if not (i and m.group(1).lower() in ("replace", *_REMOVAL)
                     and verbs[i - 1].group(1).lower() in _REMOVAL)]
    # "Transform into a movie poster. Add a tagline and title text": the poster's own
    # words are part of turning the image into one
    if verbs and _INTO_LAYOUT.match(text, verbs[0].start(1), lower=lower):
        verbs = verbs[:1] + [m for m in verbs[1:] if not (
            m.group(1).lower() == "add" and _LAYOUT_TEXT.match(text, m.end(1), lower=lower))]
    # "Change the car to red and the sky to sunset colors": a second change under one verb
    if len(verbs) == 1 and verbs[0].group(1).lower() in ("change", "turn", "switch", "set"):
        verbs += [m for m in _SECOND_TARGET.finditer(text, verbs[0].end(1), limit,
                                                     lower=lower)
                  if not (quotes and inside(quotes, *m.span(1)))][:1]
    # "Change this picture to a line illustration. Make it look like a coloring book
    # page": the second sentence spells out the same change of look
    if len(verbs) == 2 and _LOOK_AGAIN.match(text, verbs[1].start(1), lower=lower) \
            and _STYLE_CHANGE.search(text, verbs[0].start(1), verbs[1].start(1), lower=lower):
        verbs = verbs[:1]
    return verbs


_SECOND_TARGET = Caseless(r"\band\s+((?:the|its|his|her|their)\s+(?:[\w'-]+\s+){0,2}?"
                          r"[\w'-]+)\s+(?:to|into)\s+(?!(?:be|look|match|keep|stay|fit)\b)")
_LOOK_AGAIN = Caseless(r"make\s+(?:it|this|the\s+(?:image|photo|picture))\s+look\s+like\b")


def _cased(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


#: What kind of change needs a "keep ..." clause, and the clause that fits it.
_STYLE_REFERENCE = Caseless(r"\s*(?:using|in|with)\s+(?:this|the\s+(?:same|reference))\s+"
                        r"(?:style|image)\b")
#: ... or later: "A modern cityscape at night, in the style of the reference image".
_STYLE_OF_REFERENCE = Caseless(r"\b(?:in\s+the\s+)?style\s+of\s+(?:the|this|that)\s+"
                               r"(?:reference|uploaded|input|given|provided|attached|first|"
                               r"second)?\s*(?:image|photo|picture|reference)\b")
#: The verbs an edit instruction opens its changes with (an edit without any of them
#: names only the result it wants).
_EDIT_VERBS = (r"change|make|add|remove|replace|turn|put|give|swap|convert|transform|move|set|"
               r"delete|erase|paint|place|insert|switch")
#: Media and looks an image can be turned into (a style change, not a new identity).
_MEDIA = (r"style|sketch|cartoon|photo|photograph|painting|drawing|illustration|anime|"
          r"watercolou?r|render|comic")
_KINDS = (
    ("background", Caseless(
        r"\b(?:change|replace|swap|alter|set|make|transform|turn)\s+(?:the\s+|its\s+)?"
        r"(?:[\w'-]+\s+)?(?:background|backdrop|setting|surroundings|environment|location|"
        r"scenery)\b(?!\s+(?:more\s+)?(?:blurr?y|blurred|out\s+of\s+focus|soft|softer|"
        r"darker|lighter|brighter|bokeh))|"
        r"\b(?:new|different)\s+(?:background|backdrop|setting|location)\b|"
        # "Change the scene to a grassy field" (not "... to night": that is the time)
        r"\b(?:change|replace|swap|set|turn)\s+the\s+scene\s+(?:to|into|with)\s+(?!(?:an?\s+)?"
        r"(?:night|nighttime|night-time|daytime|day|dusk|dawn|sunset|sunrise|winter|summer|"
        r"autumn|fall|spring|evening|morning)\b)|"
        r"\b(?:background|backdrop|setting)\s+(?:to|into|with)\b|"
        r"\bremove\s+(?:the\s+)?background\b[^.\n]{0,12}?\breplace\b|"
        r"\badd\s+an?\s+(?!(?:[\w'-]+\s+){0,2}?(?:blurr?y|blurred|out-of-focus|soft|bokeh)\b)"
        r"(?:[\w'-]+\s+){0,3}?(?:background|backdrop)\b|"
        # the new place alone ("on a tropical beach at sunset"), or a person put in another
        # image's place ("The person from image 1 in the environment from image 2")
        rf"\A(?![^\n]*\b(?:{_EDIT_VERBS})\b)\s*(?:on|in|at|inside)\s+(?:an?|the)"
        r"\s+(?!same\b|image\b|photo\b|picture\b|style\b|manner\b|vein\b)[\w'-]+|"
        # a new background named in an edit without a verb ("Professional headshot, light
        # grey background, smiling.")
        rf"\A(?![^\n]*\b(?:{_EDIT_VERBS}|keep|keeping|blur|blurred|blurry)\b)"
        r"[^\n]*?\b[\w'-]+\s+(?:background|backdrop)\b|"
        r"\b(?:person|man|woman|subject|character|people)\b[^.\n]{0,40}?\bin\s+(?:the|an?)\s+"
        r"(?:[\w'-]+\s+)?(?:environment|setting|scene|location|place)\b"),
     "while keeping the subject in the exact same position, scale and pose"),
    ("identity", Caseless(
        r"\b(?:put|place|move)\s+(?:him|her|them|the\s+(?:person|man|woman|girl|boy|people|"
        r"couple|child|subjects?)|this\s+(?:person|man|woman))\s+(?:on|in|at|into|inside)\b|"
        r"\b(?:teleport|transport|send)\s+(?:him|her|them|the\s+(?:person|man|woman|girl|"
        r"boy|people|couple|child|subjects?)|this\s+(?:person|man|woman))\s+(?:to|into)\b|"
        rf"\b(?:he|she|they|(?:the|this|that|our)\s+(?:[\w-]+\s+){{0,2}}?(?:{_PEOPLE}|"
        r"subjects))(?:['’]s|['’]re|\s+is|\s+are)\s+now\b|"
        r"\b(?:clothes|clothing|outfit|shirt|dress|jacket|coat|suit|uniform|costume|"
        r"hair|hairstyle|haircut|afro|beard|makeup|glasses)\b|"
        r"\bgive\s+(?:him|her|them|me|us|the\s+\w+)\s+(?:a|an)\b|"
        r"\b(?:change|swap|turn)\s+(?:the|this|that)\s+(?:person|man|woman|girl|boy|character|"
        rf"subject|child)\s+(?:to|into|for)\s+(?!(?:an?\s+)?(?:[\w'-]+\s+){{0,3}}?(?:{_MEDIA})"
        r"\b)|"
        r"\brecreate\s+(?:the\s+|this\s+)?(?:uploaded\s+|same\s+)?(?:person|man|woman|"
        r"subject|character)\b|"
        r"\b(?:turn|transform|make)\s+(?:the\s+(?:photo|image|picture|person|man|woman|"
        rf"subject)|him|her|them|me)\s+into\s+(?:an?\s+)(?!(?:[\w'-]+\s+){{0,3}}?(?:{_MEDIA}|"
        r"poster|cover|postcard|collage|mosaic)\b)(?:[\w'-]+\s+){0,2}?[\w'-]+"),
     "while preserving the person's facial features, expression and pose"),
    ("style", Caseless(
        # an edit written as the look it wants ("Vintage film look with warm tones",
        # "South Park style, 2D paper cut-out cartoon, ...")
        r"\A\s*(?!(?:make|turn|let|use|using|keep|change|give|apply|in|with|same)\b)"
        r"(?:an?\s+)?(?:[\w'-]+\s+){0,3}?(?:style|look|aesthetic)\b"
        r"(?!\s*:|\s+(?:like|better|worse|more|less|as|at|good|great|nice|stays?|remains?|"
        r"is|was|should|must|does|doesn['’]?t)\b)|"
        r"\bmake\s+(?:it|this|the\s+(?:image|photo|picture|scene))\s+(?:look\s+)?(?:more\s+)?"
        r"(?:cinematic|vintage|retro|noir|dreamy|dreamlike|surreal|gothic|cyberpunk|steampunk|"
        r"painterly|cartoonish|cartoony|moody|ethereal|whimsical|futuristic|anime|realistic|"
        r"photorealistic|hyperrealistic|lifelike)\b|"
        r"\bapply\s+(?:an?\s+|the\s+)?(?:[\w'-]+\s+){0,5}?(?:style|aesthetic|look|filter|"
        r"effect)\b|"
        r"\bgive\s+(?:it|this(?:\s+image)?|the\s+(?:image|photo|picture|scene))\s+an?\s+"
        r"(?:[\w'-]+\s+){0,3}?(?:style|aesthetic|look|feel|vibe)\b|"
        r"\b(?:render|redraw|reimagine|recreate)\s+(?:it|this(?:\s+image)?|the\s+(?:image|"
        r"photo|picture|scene))\s+(?:like|as|in)\b|"
        r"\bin\s+(?:the\s+|an?\s+)?(?!same\b|this\b|original\b)(?:[\w'-]+\s+){1,3}?"
        r"(?:style|aesthetic)\s*[.!]?\s*\Z|"
        r"\b(?:in\s+the\s+style\s+of|reimagine\w*|look\s+like\s+(?:it|they|he|she)\s+"
        r"(?:was|were)\s+(?:drawn|painted)|"
        r"(?:into|to|as(?!\s+if\b))\s+(?:an?\s+)?(?:[\w'-]+\s+){0,3}?"
        r"(?:style|[\w']+-style|sketch|cartoon|photo|photograph|painting|drawing|"
        r"illustration|artwork|anime|watercolou?r|render|comic|pixel\s+art|black\s+and\s+"
        r"white|monochrome|sepia|gr[ae]yscale)(?:\s+(?:painting|style|illustration|drawing|"
        r"art|artwork))?|"
        r"(?:make|turn)\s+(?:it|this|(?:the\s+)?image|(?:the\s+)?photo)\s+(?:into\s+|look\s+"
        r"like\s+)?(?:an?\s+)?(?:[\w'-]+\s+){0,3}?(?:style|sketch|cartoon|photo|photograph|"
        r"painting|"
        r"drawing|illustration|anime|watercolou?r|render|comic|poster|cover|postcard|print|"
        r"woodcut|linocut|etching|engraving|mosaic|sculpture|claymation|black\s+and\s+white|"
        r"monochrome|sepia|gr[ae]yscale))\b"),
     "while maintaining the original composition and subject positions"),
    ("time", Caseless(
        r"\b(?:turn|change|transform|convert)\s+(?:it|this|the\s+(?:[\w-]+\s+)?(?:image|scene|"
        r"photo|picture))\s+(?:in)?to\s+(?:an?\s+)?(?:[\w-]+\s+)?(?:night|nighttime|"
        r"daytime|day|dusk|dawn|sunset|evening|winter|summer|autumn|spring)\b|"
        r"\b(?:make|turn|change|transform|convert)\s+(?:it|this|the\s+(?:image|scene|photo|"
        r"picture))?\s*(?:in)?to\s+(?:a\s+)?(?:night|nighttime|night-time|daytime|day|dusk|"
        r"dawn|sunset|winter|summer|autumn|fall|spring)\b|"
        r"\bfrom\s+(?:day|daytime|night|nighttime|dusk|dawn|morning|evening|summer|winter|"
        r"spring|autumn|fall)\s+(?:in)?to\s+(?:a\s+)?(?:day|daytime|night|nighttime|dusk|dawn|"
        r"morning|evening|sunset|sunrise|summer|winter|spring|autumn|fall)\b|"
        r"\bmake\s+it\s+(?:look\s+like\s+)?(?:night|nighttime|midnight|daytime|dusk|dawn|"
        r"sunset|sunrise|evening|morning|noon|winter|summer|autumn|spring|snowy|rainy)\b|"
        r"\b(?:change|make|turn|switch)\s+(?:the\s+)?(?:weather|season|time\s+of\s+day)\s+"
        r"(?:to|into)\b|"
        r"\bmake\s+the\s+(?:weather|season)\b[^.\n]{0,30}?\b(?:winter|summer|autumn|fall|"
        r"spring|snowy|rainy|sunny|stormy|foggy|wintry)\b|"
        r"\bit(?:['’]?s|\s+is)\s+now\s+(?:\w+ing|night|nighttime|daytime|day|dusk|dawn|"
        r"evening|morning|sunset|sunrise|winter|summer|autumn|fall|spring|snowy|rainy|foggy|"
        r"stormy|dark)\b"),
     "while maintaining the exact composition and the image's style"),
    ("transform", Caseless(r"\btransform(?:s|ed|ing)?\b"),
     "while keeping everything else in the image unchanged"),
    # "Turn this cat into a dog": one thing made into another
    ("object", Caseless(r"\b(?:turn|change|convert)\s+(?:(?:the|this|that|these|those|his|her|"
                        r"their)\s+)?(?!(?:it|this|that|them|him|her|me|us|everything|"
                        r"everyone)\b)(?!(?:[\w'-]+\s+){0,2}?(?:sky|skies|background|backdrop|"
                        r"scene|image|photo|picture|weather|light|lighting|colou?rs?|text|"
                        r"season)\b)(?:[\w'-]+\s+){0,2}?[\w'-]+\s+into\s+(?:an?\s+)?\w"),
     "while keeping its position and pose and everything else in the image unchanged"),
)
_STYLE_CHANGE = next(pattern for kind, pattern, _ in _KINDS if kind == "style")


#: Before a garment that is only a place or whose colour alone changes ("on top of the
#: woman's t-shirt", "the color of the woman's coat"): not an outfit change.
_NARROW_BEFORE = Caseless(r"\b(?:colou?r|shade|tone|pattern|print|on(?:\s+top\s+of)?|onto)\s+"
                          r"(?:of\s+)?(?:the\s+|his\s+|her\s+|their\s+)?(?:[\w'’-]+\s+){0,3}"
                          r"(?:[\w'’]+-)?\Z")


@rule("kontext-preserve", "FX302", "info",
      needs=("edit",), family="kontext", fix="unsafe",
      summary="background, identity, style, \"transform\" or thing-into-thing edit without "
              "saying what to keep",
      rationale="Changing the background, clothes, hair or style, or asking to "
                "\"transform\", can drift the person's face, pose and framing. Say what "
                "must stay: a background swap keeps the subject's position, scale and pose; "
                "an identity edit keeps the face; a style change keeps the composition; "
                "one thing turned into another (\"Turn this cat into a dog\") keeps its "
                "position and pose.",
      source=f"{KONTEXT_GUIDE}; BFL Kontext guide: explicit preservation, \"change\" rather "
             "than \"transform\"; seed 001/004: character consistency across edits")
def kontext_preserve(ctx):
    if not ctx.is_edit:
        return
    fields = _instruction_fields(ctx)
    if any(_PRESERVE.search(text, lower=ctx.lower(field, text)) for field, text in fields):
        return
    for field, text in fields:
        lower = ctx.lower(field, text)
        if _STYLE_REFERENCE.match(text, lower=lower) \
                or _STYLE_OF_REFERENCE.search(text, lower=lower):
            continue
        for kind, pattern, clause in _KINDS:
            m = pattern.search(text, lower=lower)
            while m and kind == "identity" and _NARROW_BEFORE.search(
                    text, max(0, m.start() - 40), m.start(), lower=lower):
                m = pattern.search(text, m.end(), lower=lower)
            if not m:
                continue
            end = len(text.rstrip())
            tail = text[end - 1:end] if text[end - 1:end] in ".!" else ""
            insert_at = end - len(tail)
            fix = Fix(f"add \"{clause}\"", (Edit(field, insert_at, insert_at, f" {clause}"),))
            what = {"background": "the background", "identity": "the person",
                    "style": "the style", "time": "the time of day or season",
                    "transform": "the image (\"transform\")",
                    "object": "what a thing is"}[kind]
            yield Hit(field, *m.span(),
                      f"changing {what} without saying what to keep", fix=fix,
                      suggestion=f"add \"{clause}\"")
            return
