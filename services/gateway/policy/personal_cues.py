"""The phrases of personal or private use: the officer's own interest and people, and private parties' errands.

Patterns run over folded text, as those of purpose_cues.py. Pure data, no I/O.
"""

from __future__ import annotations

import re

from services.gateway.policy.purpose_cues import phrases

_RELATIONS = (
    r"ex|ex ?(?:wife|husband|girlfriend|boyfriend|partner|spouse|fiancee?)|wife|husband|girlfriend|boyfriend|"
    r"spouse|fiancee?|neighbou?rs?|landlord|tenants?|roommates?|cousins?|brother|sister|son|daughter|"
    r"mother|father|mom|dad|in ?laws?|family|friends?|coworkers?|co workers?|boss|date|crush|kids?|child|"
    r"children|nephew|niece|uncle|aunt|relatives?|sons|daughters|stepson|stepdaughter|teen|teenager"
)
# The officer's own interest, in the first person: personal use whatever else the reason says.
OWN_INTEREST = phrases(
    r"just wondering|(?:i|im|i am) (?:was )?(?:just )?curious",
    r"personal (?:\w+ )?(?:reasons?|use|matters?|interest|business|project|reference|favou?r)|for myself",
    r"(?:bought|sold|took|borrowed|has|drives|driving) my (?:\w+ )?(?:car|truck|vehicle|bike|van)",
    r"for a friend|as a favou?r|doing a favou?r|favou?r for|off duty|side job|moonlight\w*",
    r"(?:cut|flipped|flip) me off|(?:honked|yelled|swore|looked) at me|tailgat\w* me|rude to me|insulted me|owes? me",
    r"(?:a|my|our) (?:friend|buddy|relative|family member|acquaintance)s? (?:asked|wants|needs|wanted|is asking)",
    r"(?:friend|buddy|pal|relative|cousin|coworker|co worker|colleague|neighbou?r)s? (?:\w+ ){0,3}asked me",
    r"for my (?:\w+ )?(?:records|files|use|interest|reference)",
)
# Curiosity and private life: personal use unless a crime is what the reason is about.
CURIOSITY = phrases(
    r"curious\w*|curiosity|for fun|for kicks|nosy|bored|out of interest|wonder(?:ing|ed)? (?:who|where|what|"
    r"if|whether)",
    r"(?:girl|guy|woman|man|lady|someone|person|dude|chick) (?:that )?(?:i|we) (?:met|saw|like|liked|dated|know)",
    r"(?:i|we) (?:just )?(?:want|wanted|would like) to (?:know|see|find out)",
    r"(?:family|private) (?:matter|business|issue)|reconnect\w*|catch up with|(?:get|getting) (?:back )?in touch",
    r"look (?:him|her|them) up|old (?:classmates?|friends?|flames?|acquaintances?)|classmates?|childhood friends?",
    r"(?:hot|cute|pretty|attractive|beautiful|gorgeous|sexy) (?:girl|guy|woman|man|lady|chick|dude|blonde|"
    r"brunette)s?",
    r"(?:star|famous|pro|professional|nba|nfl|mlb|nhl) (?:player|athlete|singer|actor|rapper)s?|athletes?|rappers?",
    r"celebrit\w*|famous|dating|tinder|cheating|affair|infidelity|romantic\w*|crush|is she single|is he single",
    r"(?:see|know|find out|check) (?:what|which) (?:car )?(?:he|she|they) drives?|know who (?:he|she|"
    r"they) (?:is|are|was)",
)
SELF_RELATION = re.compile(
    r"\b(?:my|our|mine|me and my) (?:(?:own|biological|birth|real|estranged|late|teenage|little|older|younger|"
    r"new|old|best|elderly|adult|grown|college|"
    r"school|high school|childhood|work|gym|former|step) ){0,2}"
    r"(?:" + _RELATIONS + r")s?\b"
)
EX_PARTNER = phrases(
    r"ex ?(?:wife|husband|girlfriend|boyfriend|partner|spouse|fiancee?|lover|bf|gf)s?",
    r"(?:former|estranged|separated) (?:wife|husband|girlfriend|boyfriend|partner|spouse|fiancee?)s?",
    r"(?:my|his|her|an|the) ex",
    r"(?:her|his|their) (?:husband|wife|boyfriend|girlfriend|spouse|fiancee?|lover|date)s?",
)
# A quarrel of the officer's own: their house, their street, their parking spot.
DISPUTE = phrases(
    r"keeps? (?:parking|blocking|leaving|playing|letting|coming)|(?:parks?|parking|parked) (?:\w+ ){0,3}(?:my|our) "
    r"(?:house|home|driveway|spot|space|street|yard|lot|building)",
    r"(?:on|in|around|near|down) (?:my|our) (?:street|block|neighbou?rhood|cul de sac|complex|building)",
    r"(?:noise|parking|fence|property|hoa|tree|boundary) (?:complaint|dispute|issue|problem)s?|(?:in|across|"
    r"blocking) "
    r"(?:my|our) (?:driveway|spot|space)",
)
# A favour asked of the officer rather than a case assigned.
FAVOUR = phrases(r"asked me (?:to|for|if|whether)|(?:as|do) (?:him|her|them) a favou?r|favou?r for (?:a|my|an)")
NEIGHBOUR = phrases(r"neighbou?rs?|next door")
PRIVATE_PARTY = phrases(
    r"insur(?:ance|er|ers) ?(?:company|companies|carrier|agent|adjusters?|investigators?)?|claims? adjusters?",
    r"state farm|geico|allstate|progressive insurance|farmers insurance|aaa insurance",
    r"tow(?:ing)? (?:company|companies|yard|operators?|service|firm|business|drivers?|lot)|towing",
    r"repo (?:man|men|agents?|company|companies|firm)|repossess\w*|recovery agents?|lien ?holders?|lenders?",
    r"finance company|credit union|bank|dealerships?|car dealers?|creditors?|debt collect\w*|collections? agenc\w*|"
    r"collections? (?:firm|company|agent)s?",
    r"bail (?:bonds?|bondsm[ae]n|agents?|agenc\w*|enforcement|recovery|company)|bondsm[ae]n|bounty hunt\w*",
    r"(?:tow|towing|ins|insurance|repo|finance|bail|bond|collection) (?:co|cos|company)|"
    r"underwriters?|(?:insurance|auto|the) carriers?|impound (?:lot|yard)|storage (?:lot|yard)|vehicle recovery",
    r"fugitive recovery|skip trac\w*|private (?:investigators?|detectives?|eyes?|investigation firm|security firm)",
    r"pi|p i|pi firm|(?<!district )(?<!city )(?<!us )(?<!state )attorneys?|(?<!district )lawyers?|"
    r"process servers?|law firm|civil (?:attorney|lawyer)|divorce (?:attorney|lawyer)|paralegal",
    r"commercial|for profit|sell (?:the )?data|landlord|property manag\w*|hoa|homeowners association|"
    r"apartment manag\w*|employer|hr department",
    r"data brokers?|marketing|advertis\w*|car dealership|parking (?:company|enforcement company|lot owner)",
)
# A private party as the one asking or benefiting, rather than a victim or a place.
ON_BEHALF = phrases(
    r"asks?|asked|asking|requests?|requested|requesting|wants?|wanted to|would like|needs|hired|paid|pays|"
    r"help|helping|assist|assisting|working for|works for|retained by|representing|looking for|searching for|"
    r"trying to (?:find|locate)|"
    r"on behalf of|for (?:the|a|an|their|his|her) (?:\w+ ){0,2}(?:company|agent|firm|adjuster|insurer|"
    r"bondsman|client|lender|bank|landlord|employer|agency|investigators?|detectives?|eyes?|servers?|collectors?|"
    r"insurers?|adjusters?|lawyers?|attorneys?|man|men)|for (?:their|his|her) clients?|client|favou?r|"
    r"so (?:they|he|she|the \w+) can|to help (?:the|a|an) \w+ (?:company|agent|firm)|calling|called us",
)
CIVIL_MATTER = phrases(
    r"unpaid (?:\w+ )?(?:fees?|bills?|rent|loans?|debts?|balance|storage|invoices?|tickets|fines|premiums?)",
    r"missed (?:\w+ )?(?:payments?|rent|installments?)|behind on (?:\w+ )?(?:payments?|rent|the loan)|"
    r"owes? (?:on|money|rent|us|them|him|her|storage|fees)|bond|a skip|skips|skip(?:ped)? (?:on )?(?:bail|"
    r"bond|court)",
    r"debtors?|garnish\w*|debts?|default\w* on|repossess\w*|repo|collateral|civil (?:case|suit|lawsuit|matter|"
    r"dispute|judgment|"
    r"litigation|claim|court|action)|small claims|lawsuit|divorce|custody (?:dispute|battle|case|hearing|fight)",
    r"child support|alimony|serve (?:\w+ )?(?:papers|process|subpoena|summons)|process serv\w*|evict\w*",
    r"liens?|lien sale|garaged|insured (?:vehicle|driver|party|car)|garaging|claimants?|policyholders?|"
    r"skip trac\w*|insurance claims?|"
    r"claim (?:number|adjust\w*|investigat\w*)|"
    r"background check|skipped bail|"
    r"bail (?:forfeiture|jump\w*)|jumped bail",
    r"sick (?:leave|days?)|disability (?:claim|leave|benefits)|workers comp\w*|faking|malingering|calling in sick",
    r"personnel matter|time off|clocked|attendance at work|premiums?|lapsed (?:policy|insurance)|pay (?:up|"
    r"the fees|the bill)|storage fees",
)
