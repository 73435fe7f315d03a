"""The phrases the purpose rules look for, grouped by what they tell about a reason. Pure data, no I/O.

Patterns run over folded text (libs.common.text_folding): lower case, words separated by one space,
apostrophes dropped ("women's" is "womens"). A cue alone decides little; purposes.py weighs the cues of a
category against the crime, victim, protection and surveillance framing of purpose_frames.py.
"""

from __future__ import annotations

import re


def phrases(*alternatives: str) -> re.Pattern[str]:
    """One pattern matching any of the alternatives as whole words."""
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_US_STATES = (
    r"alabama|alaska|arizona|arkansas|colorado|connecticut|delaware|florida|georgia|hawaii|idaho|illinois|"
    r"indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|minnesota|mississippi|"
    r"missouri|montana|nebraska|nevada|new hampshire|new jersey|new mexico|new york|north carolina|"
    r"north dakota|ohio|oklahoma|oregon|pennsylvania|rhode island|south carolina|south dakota|tennessee|"
    r"texas|utah|vermont|virginia|washington state|west virginia|wisconsin|wyoming"
)

# Immigration: acts and agencies of immigration enforcement (never a lawful reason to search here).
IMMIGRATION_ENFORCEMENT = phrases(
    r"deport\w*",
    r"removal (?:units?|teams?|division|office|orders?|proceedings?|cases?|operations?|flights?|hearings?|"
    r"warrants?|targets?)",
    r"(?:ordered|order of|orders of|subject to|facing|pending|for) (?:removal|deportation)",
    r"removable",
    r"enforcement and removal",
    r"border patrol|customs and border|border protection|cbp|usbp|ero|uscis|dhs|homeland(?: security)?",
    r"la migra|migra",
    r"287 ?g",
    r"(?:immigration|ice) (?:detainers?|holds?|warrants?|custody|agents?|officers?|raids?|sweeps?|requests?)",
    r"detainers?",
    r"(?:federal|us|u s) (?:immigration|removal|deportation)",
    r"send (?:him|her|them) back|back (?:to|across) the border",
    r"(?:report|hand|turn) (?:him|her|them|the \w+) (?:over )?to (?:the )?(?:feds|federal (?:agents|authorities))",
)
# Immigration: status as the thing looked into (never a reason to search, unless the person is a crime's victim).
IMMIGRATION_STATUS = phrases(
    r"illegal (?:immigration|entry|reentry|re entry|crossings?|border crossings?|presence)",
    r"not (?:a |an )?(?:us |u s |american )?citizens?|(?:us|u s|american|legal|naturalized) citizens?",
    r"citizenship|nationality|country of origin",
    r"(?:legal|lawful|permanent) residents?|(?:legal|residency|resident|immigration|visa|migratory|asylum|"
    r"refugee|daca|tps|lawful) status",
    r"visas?|overst\w+|green cards?|daca|work (?:permits?|authorization|visa)|i 9",
    r"(?:without|no|lacks?|lacking|has no|have no|missing) (?:legal |valid |proper |immigration )?"
    r"(?:papers|documents|documentation|status)",
    r"(?:here|in the country|in the us|in the u s|in the united states|in this country|into the country|entered|"
    r"living here|staying|be here) (?:illegally|unlawfully|without (?:papers|permission|status|documents|"
    r"authori[sz]ation))",
    r"(?:residing|living|present|staying|working|remaining|being) (?:\w+ ){0,3}(?:in the (?:united states|us|u s|"
    r"country)|here) (?:without|illegally|unlawfully)",
    r"unlawful(?:ly)? (?:presence|present)|crossed the border|entered without inspection|ewi",
    r"(?:came|come|coming|crossed|crossing|sneaked|snuck|slipped) (?:across|over|through) the border",
    r"(?:permission|right|allowed|authori[sz]ed|legal right) to (?:be|live|stay|work|remain) (?:in|here)",
    r"immigration",
    r"sanctuary|asylum (?:claims?|cases?|applications?|hearings?|requests?|denied)|denied asylum",
)
# Immigration: words for the people; with a crime named they describe a victim or a suspect, alone a target.
IMMIGRATION_PEOPLE = phrases(
    r"undocumented|illegal (?:aliens?|immigrants?|migrants?)|illegals|aliens?|non ?citizens?|foreign nationals?",
    r"(?:an|the|on|locate|find|this|some|of) illegal(?= (?:for|from|who|in|at|that|living|working)|$)",
    r"(?:suspected of being|might be|may be|are all|probably|is an?|are) illegals?",
    r"migrants?|immigrants?|asylum seekers?|nationals|day labou?rers?|\w+(?:an|ese|ish|i) national(?! (?:guard|park|"
    r"bank|city|forest|anthem|holiday|weather|championship|title|team|news|origin))",
)
# Immigration words that name a place or a service, which a lawful reason may mention as a location.
IMMIGRATION_PLACE = re.compile(
    r"\bimmigra\w* (?:law|lawyers?|attorneys?|legal|consultants?|services?|clinic|advocates?|office|offices|"
    r"center|centre|court|resource|rights|museum|rally|march|protest|vigil|forum|reform)\b|\bconsulate\b|"
    r"\bday labou?r (?:center|centre|corner|site|hall|pickup)\b"
)
# Immigration disclaimed ("not an immigration matter", "regardless of immigration status").
IMMIGRATION_DISCLAIMED = re.compile(
    r"\bno immigration (?:nexus|component|involvement|issue|concern|angle)\b|"
    r"\b(?:not|never|nothing to do with|unrelated to|regardless of|irrespective of) (?:for |an? |the |their |his |"
    r"her |related to |about |connected to |regarding |involving |based on )?(?:immigration|"
    r"citizenship)(?: (?:status|"
    r"matter|issue|purposes?|related|component|nexus|enforcement|concern))?\b"
)
# "ICE" as the agency: upper case and not a shop or the weather, or any case in an agency phrase.
ICE_UPPER = re.compile(r"(?<![A-Za-z])ICE(?![A-Za-z])")
ICE_NOT_AGENCY = re.compile(
    r"\bice (?:cream\w*|rink|rinks|arena|skat\w*|hockey|machines?|makers?|chests?|coolers?|storm|house|plant|"
    r"palace|shop|box|bucket|pick|cube\w*|cold|tea|pops?|blocks?|contact|contacts)\b|"
    r"\b(?:anti|abolish|against|protest|protesting|protesters at)\s+ice\b|"
    r"\b(?:dry|black|shaved|thin|de|road|crushed|bag of|bags of)\s+ice\b|\bin case of emergency\b|"
    r"\bice (?:on|covered|patch\w*|build\w*) (?:the |a )?(?:road\w*|street|freeway|highway|bridge|windshield|"
    r"overpass)\b"
)
# The agency's building as the location of a crime ("hit and run near the ICE facility protest").
ICE_LOCATION = re.compile(
    r"\b(?:near|at|outside|in front of|by|across from|behind|beside|next to|around|from|of|in|inside) (?:the )?ice "
    r"(?:facility|facilities|office|offices|field office|building|headquarters|hq|processing center|"
    r"detention (?:center|facility)|parking lot|lot)\b",
    re.IGNORECASE,
)
# The agency's people or property as a crime's victims ("shot at ERO-marked vehicles").
AGENCY_AS_VICTIM = re.compile(
    r"\b(?:shot|fired|shooting|attacked|assaulted|rammed|threatened|vandali[sz]ed|struck|hit|robbed) (?:at |"
    r"on |upon )?"
    r"(?:an? |the |two |several )?(?:ice|ero|cbp|dhs|border patrol|federal)(?: marked)? (?:agents?|officers?|"
    r"vehicles?|cars?|trucks?|vans?|facility|office|building)\b",
    re.IGNORECASE,
)
ICE_AGENCY = phrases(
    r"ice (?:agents?|officers?|detainers?|holds?|warrants?|custody|raids?|sweeps?|requests?|asked|wants|"
    r"requested|needs|ero|hsi|operations?|enforcement|deport\w*|removal|task force|field office)",
    r"(?:for|assist|assisting|help|helping|tell|notify|notifying|call|contact|to|with|from|by) ice",
    r"ices",
)

# Reproductive or gender-affirming health care, as a care or a place of care.
CARE = phrases(
    r"abortion\w*|pro choice",
    r"terminat\w* (?:a |her |the |their )?pregnanc\w*|pregnancy terminations?|end(?:ed|ing)? (?:her|a|the|their)"
    r" pregnancy",
    r"(?:morning after|plan b|emergency contracepti\w*) pills?|mifepristone|misoprostol|contracepti\w*",
    r"birth control|ivf|in vitro|fertility (?:clinic|treatment)",
    r"gender (?:affirming|affirmation|transition|reassignment|clinic|care|identity clinic|dysphoria|confirming)",
    r"pp (?:clinic|office|center|centre)|(?:is|are|was|being|identifies as) trans\b|"
    r"trans(?:gender)? (?:kid|teen|child|son|daughter)s?|(?:hormone|t|testosterone|estrogen) shots",
    r"nonbinary|non binary|genderqueer|intersex|hormone (?:clinic|shots|injections|prescriptions?)",
    r"transgender|trans (?:youth|kids?|teens?|teenagers?|patients?|care|persons?|people|minors?|women|men|"
    r"woman|man|adults?|community|clinic|health|girls?|boys?)",
    r"gender (?:\w+ )?(?:surgery|surgeries|treatment|treatments|medicine|doctors?)|(?:surgery|surgeries|treatment|"
    r"hormones) (?:on|for) (?:minors|trans|kids|children|teens)",
    r"(?:testosterone|estrogen|hrt) (?:\w+ ){0,3}(?:to|for) (?:teen\w*|minors?|kids|children|youth|trans\w*)",
    r"prescrib\w* (?:\w+ )?(?:testosterone|estrogen|hormones|hrt)",
    r"hormone (?:therapy|therapies|treatment|treatments|replacement|blockers?)|puberty blockers?",
    r"(?:transition|transitioning|transition related) (?:care|surgery|surgeries|treatment)",
    r"sex (?:change|reassignment)|top surgery",
    r"reproductive (?:health|care|rights|clinic|clinics|services|healthcare|freedom)",
    r"planned parenthood|family planning|womens (?:health|clinic|health clinic|health center|center|centre)",
    r"ob ?gyn|gyn\w*|midwi(?:fe|ves|fery)|miscarri\w*|stillbirth",
    r"pregnancy (?:clinic|center|centre|options|resource)|(?:for|get|got|have|had|getting|having) her procedure",
    r"pregnan\w* (?:\w+ ){0,8}(?:procedure|appointment|termination)|(?:procedure|"
    r"termination) (?:\w+ ){0,5}pregnan\w*",
)
# The care itself named as the offence, or the request coming from another state's law.
CARE_AS_OFFENCE = phrases(
    r"(?:abortion|transgender|gender affirming|trans) (?:care )?(?:bans?|laws?|statutes?|restrictions?|"
    r"prohibitions?|crimes?|charges?)",
    r"(?:illegal|unlawful|criminal|banned|prohibited) (?:abortions?|procedures?|care|treatments?|transition)",
    r"(?:perform|performed|performing|provide|provided|providing|aid|aided|aiding|assist|assisted|assisting|"
    r"help|helped|helping|obtain|obtained|obtaining|procure|procured|procuring|seek|sought|seeking|get|got|"
    r"getting|had|having|receive|received|receiving|induce|induced|inducing|prescrib\w*|mail\w*|ship\w*|"
    r"distribut\w*|supplied|supplying|traveled|travelled|traveling|travelling|came|drove) (?:\w+ ){0,3}"
    r"(?:abortions?|the procedure|pills|care|treatment|hormones|blockers)",
    # another state's law or officers asking; a car merely from another state is not this
    r"another states?|other states?|out of state|(?:" + _US_STATES + r") (?:\w+ ){0,2}(?:police|sheriffs?|"
    r"prosecutors?|investigators?|detectives?|officials?|authorities|da|ag|attorney general|laws?|bans?|warrants?|"
    r"courts?|subpoenas?|agency|agencies|requests?|wants|asks?|asking|requested|officers?|deputies|troopers?|"
    r"parents?|family)|(?:came|come|coming|traveled|travelled|traveling|travelling|drove|driven|flew|crossed|fled|"
    r"left) (?:\w+ ){0,3}(?:from )?(?:" + _US_STATES + r")\b|(?:woman|women|girls?|patients?|teens?|minors?|"
    r"residents?|she|they|mother|family) (?:\w+ ){0,2}from (?:" + _US_STATES + r")\b",
)
# The people of the care as the target, when no crime against them is named.
CARE_PEOPLE = phrases(r"patients?|providers?|clients?|doctors?|nurses?|staff")

# First Amendment activity: worship, protest, press, politics, labour (places and people).
FIRST_AMENDMENT = phrases(
    r"mosques?|masjids?|churche?s?|cathedrals?|chapels?|parish\w*|synagogues?|temples?|gurdwaras?|mandirs?",
    r"islamic (?:center|centre|society)|jewish community|kingdom hall|congregations?|congregants|worship\w*",
    r"jumm?ah|salat|namaz|shabbat|sabbath|liturgy|vespers|bible|quran|koran|torah|puja|kirtan|langar",
    r"(?:sunday|catholic|morning|evening|midnight|christmas|easter|daily) mass|(?:church|religious|"
    r"worship) services?",
    r"prayers?|sermons?|bible study|sunday (?:mass|service)|friday prayers?|eid|ramadan|passover|diwali|vaisakhi",
    r"imams?|rabbis?|pastors?|priests?|clergy|muslims?|jews|jewish|sikhs?|hindus?|christians?|catholics?",
    r"religious|faith (?:group|leaders?|community)",
    r"protest\w*|demos?|demonstrat(?:ion|ions|ors?)|rall(?:y|ies)|marchers|(?:the|a|protest|peace|womens) march",
    r"pride|organi[sz]ing|committees?|conventions?|socialist\w*|communist\w*|libertarian\w*|green party",
    r"council ?(?:members?|wom[ae]n|m[ae]n|persons?)|councilors?|mayors?|legislators?|senators?|congress\w*",
    r"county supervisors?|board of supervisors|city officials?|elected officials?",
    r"op eds?|opinion (?:piece|column)|columns?|articles?|wrote (?:an? |the )?(?:\w+ )?(?:article|story|post|piece)",
    r"critics?|criticiz\w*|criticis\w*|critical of|whistleblow\w*|youtubers?|influencers?|podcast\w*|"
    r"testif\w*|public comment|oversight (?:hearing|"
    r"board|commission|meeting)|(?:public|community) (?:hearing|forum)|spoke (?:at|against|out)",
    r"films? (?:officers|police|cops|deputies)|filming (?:officers|police|cops|deputies|us)|(?:cop|police) ?watch\w*",
    r"tiktok\w*|content creators?|streamers?|livestream\w*",
    r"bumper stickers?|(?:political|campaign|yard) (?:signs?|stickers?)|(?:free|pro|anti) \w+ (?:stickers?|signs?|"
    r"flags?|shirts?|banners?)|palestin\w*|maga|mayoral|debates?|gubernatorial|gay|lesbian|lgbt\w*|queer|"
    r"drag (?:show|brunch|queens?)",
    r"meetings?|assembly(?! line)|gatherings|(?:a|the|community|religious|political|public) gathering|"
    r"grievances?|union reps?|labou?r reps?|caucus\w*",
    r"vigils?|picket\w*|activis\w*|sit ins?|walkouts?|boycott\w*|blm|black lives matter|pride (?:parade|march|"
    r"festival|event)|counter protesters|advocacy|organizers?|dissidents?",
    r"photographers?|freelancers?|camera crews?|documentar\w*|film ?makers?|phone ?banks?|canvassing",
    r"buddhis\w*|meditation|retreats?|zen|monks?|nuns?|dharma|sangha|hindu\w*|jain\w*|bahai|mormons?|lds",
    r"jehovah\w*|quakers?|evangelical\w*|pentecostal\w*|baptists?|methodists?|lutherans?|presbyterians?",
    r"episcopal\w*|mennonites?|interfaith|ministry|ministries|missionar\w*|choir|youth group|iftar|church groups?",
    r"journalis\w*|reporters?|the press|press (?:conference|corps|pass|credentials?)|newspapers?|news (?:crew|"
    r"van|station|media|outlet|reporters?)|(?<!social )media|editors?|columnists?|bloggers?|photojournalists?|"
    r"podcasters?",
    r"political|politicians?|campaign (?:office|event|rally|headquarters|volunteers?|staff|signs?)|candidates?",
    r"elections?|voters?|polling (?:place|station)|ballots?|city council|council ?members?|town hall",
    r"democrat\w*|republican\w*|political party|petition\w*|canvassers|lobbying|lobbyists?",
    r"(?:nurses|teachers|workers|drivers|janitors|farmworkers|tenants|students|employees|laborers|carpenters|"
    r"electricians|machinists|pilots|actors|writers|grad students|dockworkers|longshoremen)s? unions?",
    r"contract negotiations|bargaining|(?:labou?r|trade) unions?|union (?:members?|hall|meetings?|organizers?|"
    r"rally|leaders?|representatives?|"
    r"stewards?|workers?|drive|office|vote)|unioniz\w*|strikers|on strike|strike (?:line|vote|rally|meeting)|"
    r"picket lines?",
    r"(?:teachers|workers|nurses|labou?r|general|hunger|rent|climate|student|union|school|transit)s? strikes?",
    r"labou?r (?:organiz\w*|disputes?|actions?|leaders?|activists?)|collective bargaining|teamsters|seiu|uaw",
    r"afl cio|workers (?:center|centre|meeting|rights)",
)
# People of a First Amendment activity as the target of a search (not a place).
FIRST_AMENDMENT_PEOPLE = phrases(
    r"protesters?|protestors?|demonstrators?|marchers|activists?|organizers?|journalists?|reporters?|editors?|"
    r"columnists?|bloggers?|congregants|worshippers?|parishioners?|imams?|rabbis?|pastors?|clergy|"
    r"strikers|union (?:members?|organizers?|leaders?|stewards?)|dissidents?|canvassers?|candidates?|"
    r"council ?(?:members?|wom[ae]n|m[ae]n|persons?)|councilors?|mayors?|legislators?|senators?|congress\w*",
    r"photographers?|freelancers?|camera crews?|film ?makers?|monks?|nuns?|missionar\w*|"
    r"creators?|streamers?|critics?|writers?|authors?|speakers?|commenters?|whistleblowers?|youtubers?|"
    r"influencers?|podcasters?",
    r"muslims|sikhs|jews|volunteers|voters|(?:shop |union )?stewards?|strike leaders?|congregation",
)
