"""Keyword and phrase rules for complaint categories, English and Chinese, with weights.

Data plus pure functions. English rules are regular expressions matched case-insensitively as
whole words (``refund`` matches "refund" and "REFUND", not "non-refundable"); Chinese rules are
plain substrings, since Chinese has no spaces to mark words. Both rule sets run on every text,
so an English word inside a Chinese post (or the reverse) still counts. Text is NFKC-normalised
first (full-width letters and digits become ASCII, curly apostrophes straight).

Weights: about 3 for a phrase that alone names the category ("charged twice", "退款"),
2 for a strong cue, 1 for a cue shared with other categories, 0.5 for a faint hint. A category's
keyword score is the sum of the weights of its distinct rules that match. The lists come from
customer-service practice and were extended on ``tests/data/categories_dev.jsonl``, never on
the evaluation set; but part A of that set was written by the same author before these rules,
so it flatters them (part B, written after they were frozen, is the honest figure).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

# (pattern, weight). English patterns are regex bodies without the surrounding \b.
Rule = tuple[str, float]

# fmt: off
EN_RULES: dict[str, tuple[Rule, ...]] = {
    "logistics": (
        (r"parcels?|packages?|couriers?|postman|mailman|postie", 2.0),
        (r"tracking|in transit|out for delivery|sorting (?:hub|centre|center)", 2.0),
        (r"deliver(?:y|ed|ing|ies)?|shipping|shipped|shipment|dispatch(?:ed)?", 1.5),
        (r"(?:has ?n.t|have ?n.t|has not|have not|still not|never|did ?n.t|not yet) "
         r"(?:been )?(?:arrived?|come|turned up|shown up|showed up|delivered|shipped)(?! back)",
         2.5),
        (r"never (?:arrived|came|showed up|turned up)|still hasn.t arrived", 2.0),
        (r"still waiting", 1.0),
        (r"\d+ ?(?:mins?|minutes|hours?|hrs?|days?|weeks?) late|(?:days?|weeks?) after the|"
         r"late and cold|showed up \w+ days", 3.0),
        (r"(?:completely |totally )?different (?:product|item|thing)|not what i ordered", 2.5),
        (r"missed you|delivery attempt|attempted delivery|depots?|lost|in pieces|shattered", 1.5),
        (r"box|boxes|doorstep|doorbell", 0.5),
        (r"wrong (?:address|house|door|flat|item|items|order|parcel|package|product)", 3.0),
        (r"someone else.s (?:order|parcel|package|stuff)(?! history)|got the wrong", 3.0),
        (r"wrong (?:size|colou?r|model)", 1.0),
        (r"crushed|smashed|dented|squashed|dent", 2.0),
        (r"(?:arrived|came|turned up|showed up) (?:late|damaged|broken|crushed|smashed|open|"
         r"opened|cold|wet|soaked|two days late|a week late)", 3.0),
        (r"lost (?:in|by) (?:the )?(?:post|mail|transit|courier)|lost my (?:parcel|package)", 3.0),
        (r"(?:delivery|the) (?:driver|guy|guys|man|men|person|van)", 2.0),
        (r"drivers?|warehouse|eta|estimated delivery", 1.0),
        (r"left (?:it|my \w+|the \w+) (?:at|outside|on|by|in|over) (?:the )?"
         r"(?:door|porch|gate|bin|rain|step)", 3.0),
        (r"threw|thrown|chucked", 1.0),
        (r"delayed|late|slow", 1.0),
        (r"where.s my (?:order|parcel|package|stuff)|where is my (?:order|parcel|package|stuff)",
         2.5),
        (r"missing (?:items?|from my (?:order|delivery|box))|items? (?:were |was )?missing", 2.0),
        (r"arriv(?:e|ed|es|al|ing)", 0.5),
    ),
    "product_quality": (
        (r"broke|broken|breaks|stopped working|fell apart|falling apart|coming apart", 2.0),
        (r"(?:does ?n.t|did ?n.t|do ?n.t|wo ?n.t|does not|do not|will not|won.t|stopped) "
         r"(?:work|turn on|switch on|charge|fit|close|stay)", 2.0),
        (r"defect(?:ive|s)?|faulty|malfunction\w*|dud", 2.5),
        (r"quality|qc|quality control", 2.0),
        (r"not as (?:described|pictured|shown)|nothing like the|looks? (?:nothing|different)",
         3.0),
        (r"(?:photos?|pictures?|pics?|images?|listing|description|website)", 1.0),
        (r"colou?r (?:is |was )?(?:off|different|way off|wrong)|different colou?r", 2.0),
        (r"knock-?off|counterfeit|fakes?|replica", 2.5),
        (r"dead pixels?|screen (?:flickers|cracked|died)|flicker\w*", 2.5),
        (r"crash(?:es|ed|ing)?|freez(?:es|ing)|bugs?|buggy|glitch\w*|error", 2.0),
        (r"login|log in|app|website|site|update", 0.5),
        (r"leak(?:s|ed|ing)?|waterproof", 1.0),
        (r"peel(?:s|ed|ing)?|stitch(?:es|ing)?|seams?|zipp?er|fabric|material|plastic", 1.5),
        (r"shr[ai]nk|shrunk|shrank|faded|fades|pilling|bobbles", 2.5),
        (r"stale|sour|rotten|mou?ldy|expired|raw|undercooked|overcooked|soggy|inedible", 2.5),
        (r"hair in|bug in|tastes?|tasted|smells?|smelled|burning", 1.5),
        (r"overheat\w*|battery|drains?|dies|died", 1.5),
        (r"runs? (?:small|large|big)|size chart|too (?:small|big|tight|loose)", 2.5),
        (r"thin|flimsy|cheap|cheaply made|wobbl\w*|scratch(?:ed|es)|cracked|particle ?board", 1.5),
        (r"junk|garbage|rubbish|trash|crap|useless|down the drain", 0.5),
        (r"came off|chipp\w*|sole|soles|heel|paint|loses? (?:suction|power|signal|charge)", 1.5),
        (r"sick|food poisoning|ill after|threw up", 2.0),
        (r"irl|in real life|in person|online", 1.0),
        (r"logs? me out|notifications|firmware", 1.5),
        (r"disconnect(?:s|ing)|connection drops|keeps? dropping|pairing", 2.0),
        (r"rust\w*|allergic|rash", 2.0),
    ),
    "after_sales": (
        (r"refund(?:s|ed|ing)?|money back|my money|reimburse\w*", 3.0),
        (r"returns?|returned|returning", 1.5),
        (r"return (?:label|request|pickup|pick-up|window|process|postage|shipping|form)", 2.5),
        (r"repair(?:s|ed|ing)?|fix(?:ed)? it|service cent(?:re|er)|sent (?:it |my \w+ )?in",
         2.5),
        (r"exchange(?:d)?|replacement|replaced|swap", 2.5),
        (r"chargeback|store credit|partial refund|credit note", 3.0),
        (r"claim|rma|ticket|case number|under review|escalat\w*|pending", 1.0),
        (r"after-?sales", 3.0),
        (r"cancel+ed (?:my |the )?order|order (?:was )?cancel+ed", 1.0),
        (r"(?:still )?(?:waiting|no sign) (?:for|of) (?:my|the) "
         r"(?:refund|money|replacement|repair|exchange)", 3.0),
        (r"processed|processing|business days", 1.0),
        (r"engineer|technician|no fault found|inspected|inspection", 2.0),
        (r"another (?:faulty|broken|defective) one|sent (?:me )?(?:the same|another)", 2.0),
        (r"the money|working days|"
         r"cancel+ed (?:my |the )?(?:booking|reservation|subscription)", 1.5),
    ),
    "service_attitude": (
        (r"rude(?:ly|ness)?|arrogant|dismissive|condescending|patroni[sz]ing|disrespect\w*", 3.0),
        (r"attitude|unprofessional|impatient|unfriendly|hostile|nasty|snotty|smug", 2.5),
        (r"hung up|hangs up|hang up", 2.0),
        (r"rolled (?:her|his|their) eyes|eye-?roll\w*|sigh(?:ed|s|ing)?", 2.5),
        (r"shout(?:ed|ing|s)?|yell(?:ed|ing|s)?|snapped|screamed|laughed|mocked|sneered", 2.5),
        (r"(?:that.s|it.s|this is) (?:the|our|company|store) (?:policy|rule|rules)|"
         r"rules are rules|nothing (?:i|we) can do", 3.0),
        (r"not my (?:problem|department|job|fault)", 3.0),
        (r"blam(?:ed|ing|es|e) (?:me|us|the customer|customers)|my (?:own )?fault", 2.5),
        (r"treat(?:ed|s|ing)? (?:me|us|you|customers|people) like", 3.0),
        (r"copy[- ]?paste\w*|canned (?:response|reply|answer)|scripted|robotic", 2.5),
        (r"(?:same|generic|automated|standard|bot) (?:bot |automated )?(?:message|reply|response)",
         2.0),
        (r"apologi[sz]e for the inconvenience|sorry for the inconvenience", 1.5),
        (r"(?:does ?n.t|did ?n.t|do ?n.t|could ?n.t|nobody|no one) (?:actually |even )?"
         r"(?:care|cares|give a)", 2.0),
        (r"did ?n.t (?:even )?(?:look up|apologi[sz]e|say sorry|greet)", 2.5),
        (r"ignored (?:me|us)|walked (?:off|away)|left the chat|closed the chat", 2.0),
        (r"made me feel|stupid|idiot|criminal|like dirt", 1.5),
        (r"(?:talked|talks|talking|spoke|speaks|speaking) (?:to|down to) me like|like i was|"
         r"talk(?:ed|s)? down", 3.0),
        (r"empathy|humiliat\w*|embarrass\w*|shoplifter|followed me", 2.5),
        (r"annoyed|irritated|snarky|sarcastic|google it|dear valued customer", 2.0),
        (r"indifferent|unhelpful|useless staff", 1.5),
        (r"cold", 1.0),
        (r"staff|employee|cashier|waiter|waitress|manager|agent|rep|clerk|person on the phone",
         0.5),
    ),
    "communication": (
        (r"no (?:reply|replies|response|answer|update|updates|callback|call back|word)", 3.0),
        (r"(?:never|did ?n.t|do ?n.t|does ?n.t|wo ?n.t|not) (?:even )?"
         r"(?:reply|replied|respond|responded|answer|answered|get back|got back|call(?:ed)? back)",
         3.0),
        (r"(?:nobody|no one|noone) (?:ever )?(?:answers|answered|replies|replied|responds|"
         r"responded|picks up|tells|told|called|calls|informed|notified)", 3.0),
        (r"on hold|hold music|rings out|line went dead|line is (?:always )?busy|engaged tone", 3.0),
        (r"(?:ca ?n.t|cannot|could ?n.t|unable to|impossible to|no way to) "
         r"(?:reach|contact|get through|get hold|talk to|speak to|speak with|talk with)", 3.0),
        (r"(?:real|actual|live) (?:person|human)|talk to a human|speak to a human", 2.5),
        (r"transferr\w*|passed around|passed from|bounced between|departments?", 2.5),
        (r"(?:different|conflicting|contradictory|contradicting|inconsistent|mixed) "
         r"(?:answers?|information|info|stories|story|messages|replies)", 3.0),
        (r"says one thing|said one thing|which (?:one )?is it|make it make sense", 2.5),
        (r"radio silence|crickets|ghosted|left on read|black hole|silence", 2.5),
        (r"jargon|(?:makes?|made) (?:no|zero) sense|what does (?:that|this) (?:even )?mean", 3.0),
        (r"vague|unclear|confusing|explain", 1.5),
        (r"chat|chatbot|bot|dms?|inbox|emails?|emailed|phone line|hotline", 1.0),
        (r"update|notif(?:y|ied|ication)|heard back|hear back|get back to me", 1.5),
        (r"call me back|call back|callback", 1.5),
        (r"helpline|call cent(?:re|er)|high call volumes?|disconnected (?:me|the call)|cut off|"
         r"out of office|auto-?reply|automatic reply|couldn.t hear|bad line", 2.5),
        (r"talk to each other|don.t communicate|left hand", 2.5),
        (r"(?:not a single|not one|zero) (?:human )?(?:reply|response|answer)|is anyone "
         r"(?:working|there|reading)|got nothing|heard nothing|still don.t know", 3.0),
        (r"legalese|read the thread|repeat (?:everything|myself)|every reply", 3.0),
        (r"different (?:person|agent|people)|the next one said|one (?:agent|person) said", 2.5),
        (r"no heads up|did ?n.t (?:tell|inform|notify)", 2.0),
        (r"without (?:any )?(?:notice|warning)", 1.0),
        (r"messag(?:e|es|ed|ing)|twitter|phone", 0.5),
    ),
    "promises_not_kept": (
        (r"warrant(?:y|ies)|guarantee(?:d|s)?", 2.5),
        (r"price[- ]match|price guarantee|price protection", 3.0),
        (r"free gifts?|gift with purchase|gift", 2.0),
        (r"promo(?:tion)?s?|promo codes?|coupons?|vouchers?|discount codes?", 2.5),
        (r"(?:did ?n.t|did not|does ?n.t|wo ?n.t|would ?n.t|refus\w+ to) "
         r"(?:apply|honou?r|cover)", 3.0),
        (r"honou?r(?:ed|ing)?|not covered|does ?n.t cover|does not cover", 2.0),
        (r"fine print|small print|hidden (?:conditions|terms|catch)|terms and conditions|"
         r"(?:selected|certain) items", 3.0),
        (r"misleading|false advertising|as advertised|advertised|bait", 2.0),
        (r"promised|promise|in writing|they said they.d|assured", 2.0),
        (r"buy (?:one|two|1|2|3) get|bogo|\d+% off|% off|off everything", 2.0),
        (r"free (?:trial|shipping|installation|delivery|returns?|month)", 2.5),
        (r"no questions asked|\d+[- ]day returns?|return policy|money-?back guarantee|"
         r"satisfaction guaranteed", 3.0),
        (r"never expire|expired|loyalty|points", 1.5),
        (r"lifetime|compensat\w+|waive(?:d)?|goodwill", 2.0),
        (r"not valid|invalid|does ?n.t work at checkout|did ?n.t apply", 2.0),
        (r"black friday|cyber monday|sale|deal", 1.0),
        (r"(?:match|beat) any (?:competitor|price|other)|on all orders|valid (?:all|until|for)|"
         r"(?:promotion|offer|deal) (?:has )?ended|only (?:over|above) [$£€]?\d+", 3.0),
        (r"(?:returns?|shipping|delivery|installation) (?:is|are|was) free", 2.5),
        (r"they said|said i.d get|bundle|sneaky|upgrade|discount", 1.0),
        (r"(?:was|were|is|are) included|included in the price|(?:sales ?(?:rep|man|person)|"
         r"salesman|seller) (?:said|told|promised)|was told", 2.5),
    ),
    "privacy": (
        (r"data breach|breach|leak(?:ed)?|exposed|security incident", 3.0),
        (r"personal (?:data|info|information|details)|my (?:data|details|information)", 3.0),
        (r"privacy|gdpr|creepy|spying|surveillance", 3.0),
        (r"spam(?:med|ming)?|scammers|phishing|robocalls?|cold calls?", 2.5),
        (r"scams?", 1.0),
        (r"hack(?:ed|er|ers)?|compromised|logged into my account|someone (?:else )?"
         r"(?:used|accessed) my account", 3.0),
        (r"(?:sold|selling|sell|share|sharing|shared|shares) (?:my|our|your|customer|user)s?.? "
         r"(?:data|info|information|details)", 3.0),
        (r"third[- ]part(?:y|ies)|advertisers", 2.0),
        (r"(?:phone|card|id) numbers?|home address|email address|full name|account details|"
         r"saved card|card details", 2.5),
        (r"date of birth|dob|plain ?text|security (?:issue|hole|breach|incident)", 3.0),
        (r"(?:ads|adverts) .{0,30}(?:on )?every (?:site|website|app)|following me around|"
         r"partners|debt (?:collector|company)|speakerphone|read out", 2.0),
        (r"visible|printed|shown|displayed", 1.0),
        (r"targeted ads|medical (?:condition|data|records|history)|health data|order history|"
         r"recorded (?:our|my|us)|listening", 3.0),
        (r"someone else.s (?:name|address|details|invoice|info|receipt|personal)|"
         r"another customer.s", 3.0),
        (r"(?:tracks?|tracking) (?:my )?location|location (?:tracking|access)|permissions?", 3.0),
        (r"(?:access to|need|needs|wants|read|access) my (?:contacts|microphone|camera|photos|"
         r"location|sms|messages|texts)", 3.0),
        (r"(?:read|access) my (?:sms|messages|texts)", 3.0),
        (r"(?:delete|deleting|close|remove) my (?:account|data|profile)|unsubscrib\w+", 3.0),
        (r"marketing (?:emails?|texts?|calls?|messages?)", 2.5),
        (r"photo of (?:my|your) id|my id|camera|cameras|out loud", 2.0),
    ),
    "pricing": (
        (r"expensive|overpriced|pricey|over-?charg\w+", 3.0),
        (r"price (?:hike|increase|rise|jump)s?|prices? (?:went|go|going|have gone|has gone) up|"
         r"(?:raised|raising|hiked|increased|doubled|tripled) (?:the |their |its )?"
         r"(?:price|prices|fees?|rates?)|went up \d+%|up \d+%", 3.0),
        (r"(?:charged|billed) (?:me )?(?:twice|double|two times)|double[- ]?charged|"
         r"charged twice|duplicate (?:charge|payment|transaction)s?|two identical", 3.0),
        (r"(?:hidden|extra|booking|service|convenience|handling|delivery|admin|card|restocking) "
         r"(?:fee|fees|charge|charges)|surcharge", 3.0),
        (r"rip-?off|robbery|daylight robbery|scalping|gouging", 3.0),
        (r"not worth (?:the|it)|for what it is|half (?:the price|price)|cheaper elsewhere", 2.0),
        (r"price(?:s|d)? dropped|dropped (?:the )?price|price drop", 2.5),
        (r"auto-?renew\w*|renewed|subscription|membership fee", 2.0),
        (r"shrinkflation|inflation", 3.0),
        (r"(?:rang|rings|ring|scanned) up|shelf (?:tag|price|label)|price tag|price on the shelf",
         3.0),
        (r"charged (?:me )?(?:more|extra|full price|the wrong)|unexpected charge|"
         r"bill (?:for|of)|my bill", 2.5),
        (r"prices?|fees?|costs?|charged|charge|pay|paid|paying", 1.0),
        (r"bill|invoice|statement|transactions?", 1.0),
        (r"[$£€]\s?\d+|\d+ ?(?:dollars|bucks|quid|euros|pounds)", 1.0),
        (r"costs? more|more expensive|cheaper|[$£€]\s?\d+ for (?:a|an|one|two)", 2.5),
        (r"(?:dynamic|surge) pricing|price discrimination|per kg|per kilo|pack got smaller|"
         r"smaller pack", 3.0),
        (r"charged (?:me )?(?:for|after)|(?:still|kept|keep) (?:charging|billing) me", 2.5),
        (r"per (?:gram|100 ?g|unit|litre|liter)|value pack|do the maths?|more for less", 2.5),
    ),
    "other": (
        (r"ads?|adverts?|advertisement|commercials?|campaign", 2.5),
        (r"boycott\w*|cancel(?:led)? them", 3.0),
        (r"ceo|founder|owner|chairman|spokesperson", 2.0),
        (r"sold out|out of stock|never in stock|restock", 2.5),
        (r"(?:closed|closing|shut) (?:down|the store|stores|branches)|store (?:closed|closing)|"
         r"closed down", 3.0),
        (r"queue|line was|only one till|waited in line", 2.0),
        (r"dirty|filthy|messy|a mess|disgusting toilets|toilets?|bathrooms?", 2.0),
        (r"logo|rebrand\w*|redesign|new design|layout", 2.5),
        (r"sustainab\w*|environment\w*|overpackag\w*|plastic waste|eco", 2.5),
        (r"sponsor\w*|influencers?|ambassadors?|celebrity|partnered with|partnership", 2.5),
        (r"parking|car park|trolleys?", 2.5),
        (r"music|noise|loud", 1.5),
        (r"politic\w*|tone[- ]deaf|shameful|woke|statement", 2.0),
        (r"underpaid|overworked|working conditions|labou?r|animals?|animal testing", 2.5),
        (r"menu|vegan|options", 1.5),
        (r"used to be (?:good|great|better)|not what it used to be|mid|gone downhill", 2.0),
        (r"weather|mondays|traffic", 2.0),
        (r"self-?checkouts?|tills?|discontinued|no longer (?:sell|stock|make)|"
         r"removed .{0,30}from the (?:range|menu|shelves)|billboards?|mascot", 2.0),
        (r"single[- ]use|packaging|lift|elevator|escalator|pram|wheelchair|empty shelves|"
         r"shelves|icon|protest\w*|hq|headquarters", 2.0),
    ),
}

ZH_RULES: dict[str, tuple[Rule, ...]] = {
    "logistics": (
        ("快递", 2.0), ("物流", 2.0), ("包裹", 2.0), ("发货", 2.0), ("签收", 2.0),
        ("驿站", 2.0), ("快递员", 1.0), ("骑手", 2.0), ("小哥", 1.0), ("派送", 2.0),
        ("送错", 3.0), ("发错", 3.0), ("寄错", 3.0), ("错发", 3.0), ("少发", 3.0),
        ("漏发", 3.0), ("破损", 2.0), ("压坏", 3.0), ("压扁", 3.0), ("压得", 2.0),
        ("摔坏", 1.5), ("暴力分拣", 3.0), ("丢件", 3.0), ("丢了", 1.0), ("没收到", 2.5),
        ("未收到", 2.5), ("还没到", 2.5), ("没到", 1.5), ("中转", 2.0), ("揽收", 2.5),
        ("运输", 1.5), ("在路上", 2.0), ("送货", 1.5), ("送到", 1.0), ("送上门", 2.0),
        ("送达", 2.0), ("配送", 1.0), ("延误", 1.0), ("超时", 1.5), ("太慢", 1.0),
        ("凉了", 1.5), ("单号", 1.5), ("地址", 1.0), ("外卖", 1.0), ("不更新", 2.0),
        ("没更新", 2.0), ("物流信息", 1.0), ("包装", 0.5), ("外包装", 2.0), ("扔门口", 3.0),
        ("放门口", 3.0), ("寄来", 1.0), ("到货", 1.5),
        ("运输中", 2.0), ("派送失败", 3.0), ("快递柜", 2.0), ("迷路", 1.5), ("碎了", 1.5),
    ),
    "product_quality": (
        ("质量", 2.5), ("品质", 2.0), ("做工", 2.5), ("坏了", 1.5), ("不能用", 2.0),
        ("用不了", 1.5), ("不好用", 2.0), ("故障", 2.0), ("瑕疵", 2.5), ("色差", 3.0),
        ("不符", 1.0), ("描述不符", 3.0), ("与描述", 2.0), ("和描述", 2.0), ("图片", 1.5),
        ("实物", 2.0), ("买家秀", 2.5), ("卖家秀", 2.5), ("假货", 3.0), ("假的", 2.0),
        ("正品", 2.0), ("山寨", 2.5), ("缩水", 2.5), ("掉色", 2.5), ("起球", 2.5),
        ("开胶", 3.0), ("线头", 2.5), ("异味", 2.0), ("刺鼻", 2.0), ("味道", 1.5),
        ("难吃", 3.0), ("不新鲜", 2.5), ("变质", 3.0), ("过期", 2.0), ("头发", 2.0),
        ("太咸", 2.5), ("夹生", 3.0), ("闪退", 3.0), ("卡顿", 2.5), ("崩溃", 2.0),
        ("bug", 2.0), ("黑屏", 2.5), ("坏点", 3.0), ("发烫", 2.5), ("冒烟", 2.5),
        ("漏水", 2.0), ("材质", 2.0), ("面料", 2.0), ("偏小", 2.5), ("偏大", 2.5),
        ("尺码", 1.5), ("穿不上", 2.5), ("划痕", 2.0), ("粗糙", 2.0), ("掉电", 2.0),
        ("续航", 1.5), ("没声音", 2.5), ("纯棉", 1.0), ("劣质", 3.0), ("烂的", 2.0),
        ("发霉", 3.0), ("不好吃", 3.0), ("用了", 0.5), ("就坏", 2.5),
        ("不保温", 3.0), ("滤镜", 2.5), ("颜色", 1.5), ("松动", 2.5), ("塌了", 2.0),
        ("喝出", 3.0), ("吃出", 3.0), ("异物", 3.0), ("塑料片", 2.0), ("开线", 3.0),
        ("毛病", 1.5), ("严重不符", 3.0), ("不耐用", 2.5),
        ("抖", 1.5), ("噪音", 1.5), ("过敏", 2.5), ("刺痛", 2.5), ("断断续续", 2.0),
        ("连接", 1.0), ("哈喇味", 2.5), ("怪味", 2.5), ("没法用", 2.0), ("生锈", 2.5),
    ),
    "after_sales": (
        ("退款", 3.0), ("退钱", 3.0), ("退货", 2.0), ("退回", 1.5), ("到账", 2.5),
        ("售后", 2.5), ("维修", 2.5), ("送修", 3.0), ("修好", 2.0), ("返修", 3.0),
        ("换货", 3.0), ("补发", 2.5), ("仅退款", 3.0), ("审核", 2.0), ("驳回", 1.5),
        ("待处理", 2.0), ("处理中", 2.0), ("取件", 2.5), ("运费险", 2.0), ("拒收", 2.0),
        ("寄回", 2.0), ("退不了", 2.0), ("没退", 2.5), ("检测费", 1.5), ("工单", 1.5),
        ("进度", 1.0), ("申请", 1.0), ("退了", 1.5), ("钱还没", 2.5), ("冻结", 1.5),
        ("走流程", 2.0), ("流程", 1.0), ("再寄", 1.5),
        ("修了", 1.5), ("换新", 1.5), ("退货地址", 3.0), ("寄不回", 2.5), ("原路返回", 3.0),
        ("额度", 1.0), ("报修", 3.0), ("退换", 2.5), ("没人上门", 1.5),
        ("质检费", 2.5), ("卡着", 1.0), ("平台介入", 3.0), ("介入", 2.0), ("检测", 1.5),
    ),
    "service_attitude": (
        ("态度", 3.0), ("不耐烦", 3.0), ("爱答不理", 3.0), ("爱理不理", 3.0),
        ("敷衍", 2.5), ("复制粘贴", 2.5), ("黑脸", 2.5), ("脸色", 2.0), ("翻白眼", 3.0),
        ("白眼", 2.0), ("骂", 3.0), ("凶", 2.0), ("冲", 1.0), ("怼", 2.5), ("素质", 2.5),
        ("傲慢", 3.0), ("居高临下", 3.0), ("看不起", 3.0), ("瞧不起", 3.0),
        ("冷冰冰", 2.5), ("冷漠", 2.5), ("推卸", 2.5), ("推给", 2.0), ("甩锅", 3.0),
        ("公司规定", 3.0), ("规定", 1.5), ("规矩", 1.5), ("爱买不买", 3.0),
        ("挂电话", 2.5), ("挂我电话", 3.0), ("事多", 2.0), ("不道歉", 2.0), ("人情味", 2.0),
        ("玩手机", 2.0), ("理我", 1.5), ("服务员", 1.0), ("店员", 1.0), ("售货员", 1.0),
        ("店长", 1.0), ("经理", 0.5), ("亲亲", 1.5), ("嫌弃", 2.0), ("不理人", 2.5),
        ("不专业", 2.0), ("什么态度", 3.0), ("当成傻子", 3.0), ("自己的问题", 2.0),
        ("是不是摔过", 2.0), ("只会说", 1.5),
        ("买不起", 2.5), ("理解您的心情", 2.5), ("搭理", 2.5), ("抱怨", 2.0), ("嫌", 1.5),
        ("语气", 2.0), ("吵架", 3.0), ("聊天", 1.5), ("接待", 1.0),
        ("骂骂咧咧", 2.0), ("嚼口香糖", 2.0), ("爱搭不理", 3.0), ("关我什么事", 3.0),
        ("打发", 2.5), ("看着办", 2.5), ("打量", 2.0), ("看了我一眼", 2.0),
    ),
    "communication": (
        ("打不通", 3.0), ("占线", 3.0), ("没人接", 3.0), ("没人回", 3.0), ("不回复", 3.0),
        ("没有回复", 3.0), ("没回", 2.0), ("已读不回", 3.0), ("石沉大海", 3.0),
        ("人工", 2.0), ("转人工", 3.0), ("智能客服", 2.5), ("掉线", 2.0), ("说法", 2.5),
        ("口径", 3.0), ("不一致", 2.5), ("矛盾", 2.5), ("转来转去", 3.0), ("转了", 1.5),
        ("部门", 1.5), ("踢皮球", 3.0), ("通知", 2.0), ("联系", 1.5), ("联系不上", 3.0),
        ("回电", 2.5), ("答复", 2.0), ("术语", 3.0), ("看不懂", 2.0), ("说人话", 2.5),
        ("解释不清", 3.0), ("不清不楚", 2.5), ("模棱两可", 3.0), ("没有下文", 2.5),
        ("催促", 1.5), ("催了", 1.5), ("私信", 1.5), ("留言", 1.5), ("邮件", 1.5),
        ("热线", 1.5), ("一会儿说", 2.5), ("前后", 1.0), ("到底", 1.0), ("没人理", 2.0),
        ("排队", 0.5), ("绕圈子", 2.5), ("哪个是真的", 2.5), ("听谁的", 2.5),
        ("稍后再拨", 3.0), ("答非所问", 3.0), ("机器人回复", 2.5), ("没人告诉", 3.0),
        ("才知道", 2.0), ("谁说了算", 3.0), ("一个说", 2.5), ("回复", 1.0),
        ("没人解释", 2.5), ("解释", 1.5), ("大海", 1.5), ("已记录", 2.0), ("说一遍", 2.5),
        ("记录", 1.0), ("信谁", 2.5), ("没消息", 2.5), ("没有消息", 2.5), ("连个消息", 2.5),
    ),
    "promises_not_kept": (
        ("保修", 3.0), ("质保", 3.0), ("联保", 3.0), ("七天无理由", 3.0), ("7天无理由", 3.0),
        ("无理由", 2.5), ("说好的", 2.0), ("承诺", 2.5), ("答应", 2.0), ("赠品", 3.0),
        ("买一送一", 2.5), ("满减", 3.0), ("优惠券", 3.0), ("券", 1.5), ("红包", 1.5),
        ("活动", 1.5), ("套路", 2.5), ("价保", 3.0), ("保价", 3.0), ("免费试用", 2.5),
        ("试用", 1.5), ("免费", 1.0), ("终身", 2.0), ("定金", 2.5), ("尾款", 2.0),
        ("预售", 2.0), ("积分", 2.0), ("清零", 2.0), ("补偿", 2.0), ("赔付", 2.5),
        ("赔偿", 2.0), ("兑现", 3.0), ("不给修", 3.0), ("不在保修", 3.0), ("人为损坏", 2.5),
        ("宣传", 1.5), ("虚假宣传", 2.0), ("不参与", 2.5), ("不符合条件", 2.5), ("包邮", 2.0),
        ("上门安装", 2.0), ("通用", 2.0), ("直播间", 1.0), ("送的", 1.0),
        ("不给退", 2.0), ("不让退", 2.5), ("不能退", 1.5),
        ("买贵退差", 3.0), ("退差", 2.5), ("包安装", 2.5), ("返现", 3.0), ("无条件退", 3.0),
        ("扣折旧", 2.0), ("不可用", 2.0), ("新人", 1.0), ("规则", 1.5), ("不符合", 2.0),
        ("免费维修", 3.0), ("免费保修", 3.0), ("要收费", 2.0),
        ("以旧换新", 3.0), ("抵扣", 2.0), ("免单", 2.0), ("中了", 1.0), ("条件", 1.5),
        ("改规则", 2.5), ("无忧", 2.5), ("免运费", 2.5), ("说好", 1.0),
    ),
    "privacy": (
        ("泄露", 3.0), ("泄漏", 3.0), ("隐私", 3.0), ("个人信息", 3.0), ("骚扰电话", 3.0),
        ("推销电话", 3.0), ("骚扰", 2.0), ("推销", 1.5), ("营销短信", 3.0), ("短信", 1.0),
        ("垃圾短信", 3.0), ("骗子", 2.5), ("诈骗", 2.5), ("被盗", 3.0), ("盗号", 3.0),
        ("盗刷", 3.0), ("被黑", 2.5), ("第三方", 2.5), ("共享", 1.5), ("权限", 3.0),
        ("通讯录", 3.0), ("定位", 2.5), ("相册", 1.5), ("注销", 2.5), ("退订", 2.5),
        ("身份证", 3.0), ("打码", 3.0), ("手机号", 2.0), ("电话号码", 2.0), ("面单", 3.0),
        ("名字", 1.0), ("念出来", 2.0), ("监控", 1.5), ("摄像头", 2.0), ("数据", 1.0),
        ("别人的", 0.5), ("账号", 0.5), ("账户", 0.5),
        ("快递单", 2.5), ("没有隐藏", 3.0), ("地址和电话", 3.0), ("电话和地址", 3.0),
        ("我名字", 2.5), ("我的名字", 2.5), ("贷款", 1.5), ("给我打电话", 1.5),
        ("他的电话", 2.5), ("她的电话", 2.5), ("我的电话", 2.0), ("发了我的", 2.5),
        ("麦克风", 3.0), ("全名", 2.5), ("拍照留存", 2.0), ("不同号码", 2.0), ("号码打来", 2.0),
        ("拿了我的", 2.0), ("会员账号", 2.0), ("偷偷", 1.0),
    ),
    "pricing": (
        ("价格", 2.0), ("价钱", 2.0), ("贵", 2.0), ("太贵", 3.0), ("涨价", 3.0),
        ("降价", 2.5), ("杀熟", 3.0), ("大数据", 1.5), ("扣款", 2.5), ("扣了", 1.5),
        ("扣费", 1.5), ("扣钱", 2.0), ("重复扣", 3.0), ("多扣", 3.0), ("多收", 3.0),
        ("两次款", 3.0), ("收费", 1.5), ("手续费", 2.5), ("服务费", 2.5), ("配送费", 2.5),
        ("打包费", 2.5), ("运费", 1.5), ("会员费", 2.5), ("订阅费", 2.5), ("续费", 2.5),
        ("自动续费", 3.0), ("账单", 2.0), ("话费", 2.0), ("标价", 3.0), ("差价", 2.0),
        ("性价比", 3.0), ("抢钱", 3.0), ("坑钱", 2.5), ("不值", 2.0), ("宰客", 3.0),
        ("吃相", 2.0), ("打折", 1.5), ("块", 0.5), ("元", 0.5), ("涨", 1.5),
        ("费", 0.75), ("停车费", 3.0), ("年费", 3.0), ("电费", 2.0), ("翻倍", 2.0),
        ("原价", 2.0), ("文字游戏", 2.5), ("两笔", 2.5), ("会员价", 2.0),
        ("翻了", 1.5), ("倍", 1.0), ("月租", 2.0), ("套餐", 1.5), ("悄悄涨", 3.0),
        ("涨了", 2.0), ("多了个", 1.5), ("充值", 2.0), ("提现", 2.0), ("被坑", 2.0), ("坑", 1.0),
    ),
    "other": (
        ("广告", 2.5), ("代言人", 3.0), ("代言", 2.0), ("塌房", 3.0), ("关门", 2.5),
        ("关了", 1.5), ("倒闭", 2.5), ("断货", 3.0), ("缺货", 2.0), ("抢不到", 2.5),
        ("没货", 1.0), ("抵制", 3.0), ("环境", 1.5), ("脏", 2.0), ("卫生", 2.0),
        ("厕所", 2.0), ("排队", 2.0), ("人太多", 2.0), ("停车", 2.5), ("车位", 2.5),
        ("音乐", 2.0), ("吵", 1.5), ("logo", 2.5), ("设计", 1.5), ("丑", 2.0),
        ("联名", 2.0), ("环保", 2.5), ("过度包装", 3.0), ("加班", 2.0), ("热搜", 1.0),
        ("情怀", 2.0), ("老板", 1.5), ("天气", 2.0), ("倒霉", 2.0), ("心情", 1.5),
        ("越来越差", 2.0), ("越来越不行", 2.0), ("脱粉", 2.5), ("寒心", 1.5), ("门店", 0.5),
        ("海报", 2.5), ("售罄", 3.0), ("搬走", 2.5), ("创始人", 2.5), ("言论", 2.5),
        ("取关", 2.0), ("充电桩", 1.5), ("新品", 0.5),
        ("营销", 2.0), ("油腻", 2.0), ("主播", 1.5), ("上新", 2.0), ("那几款", 1.5),
        ("吉祥物", 2.5), ("黄牛", 2.5), ("秩序", 1.5),
    ),
}

# fmt: on


@dataclass(frozen=True)
class KeywordHit:
    """One rule that matched: the words seen in the text and the rule's weight."""

    category: str
    matched: str
    weight: float


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), curly quotes to straight, lower case."""
    text = unicodedata.normalize("NFKC", text)
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


@cache
def _compiled_en() -> dict[str, tuple[tuple[re.Pattern[str], float], ...]]:
    return {
        category: tuple(
            (re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE), weight)
            for pattern, weight in rules
        )
        for category, rules in EN_RULES.items()
    }


def keyword_hits(text: str) -> list[KeywordHit]:
    """Every rule that matches ``text``, English and Chinese, each rule counted once."""
    normal = normalise(text)
    hits: list[KeywordHit] = []
    for category, rules in _compiled_en().items():
        for pattern, weight in rules:
            found = pattern.search(normal)
            if found:
                hits.append(KeywordHit(category, found.group(0), weight))
    for category, words in ZH_RULES.items():
        for word, weight in words:
            if word in normal:
                hits.append(KeywordHit(category, word, weight))
    return hits


def keyword_scores(hits: list[KeywordHit], categories: Mapping[str, object]) -> dict[str, float]:
    """Summed rule weights per category (every category in ``categories`` present, maybe 0)."""
    scores = dict.fromkeys(categories, 0.0)
    for hit in hits:
        scores[hit.category] = scores.get(hit.category, 0.0) + hit.weight
    return scores
