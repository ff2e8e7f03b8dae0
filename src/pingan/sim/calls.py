"""110 call texts and fraud report narratives in varied Chinese wording, for training the text classifier.

A text is put together from parts: an opening (first person or the call-taker's 报警人称), a place, a
time, the core event in one of many phrasings, details of the category, details of no category at all,
and a closing; the middle parts come in a random order. Slot words come from synonym lists, clauses are
joined in several ways, and some texts get typing noise: homophones, particles, dropped punctuation. Texts
also borrow other categories' words (the neighbour with a kitchen knife is an assault, the child locked
in the car is a rescue), as real calls do.

Every phrasing list is split into a training part and a held-out part (`Variants`): the evaluation
trains on one seed's training phrasings and tests on another seed's held-out phrasings, which the model
never saw, so the figure measures generalisation rather than recall of templates.

Deterministic: the same seed gives the same texts.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from pingan.antifraud.reports.choices import Typology
from pingan.command.classify import Variants

# The 类型 (level 2) codes of the command package's category table (`command/categories.toml`).
INCIDENT_TYPES: dict[str, str] = {
    "0101": "盗窃", "0102": "抢劫抢夺", "0103": "诈骗", "0104": "伤害", "0105": "其他刑事",
    "0201": "纠纷", "0202": "殴打他人", "0203": "噪音扰民", "0204": "其他治安",
    "0301": "交通事故", "0302": "交通秩序", "0401": "火灾", "0402": "抢险救援",
    "0501": "群众求助", "0502": "咨询", "0601": "虚假报警",
}  # fmt: skip


@dataclass(frozen=True)
class LabelledText:
    """A generated text, its label, and the core phrasing it was built on (`label:index`)."""

    text: str
    label: str
    template: str


def _l(s: str) -> list[str]:
    return s.split("|")


SLOTS: dict[str, list[str]] = {
    "place": _l(
        "小区门口|菜市场里|地铁站出口|公交站台旁边|超市里面|网吧|我家楼下|商场三楼|学校后门|夜市那边|地下停车场"
        "|公园湖边|饭店门口|出租屋里|工地边上|银行门口|火车站广场|农贸市场|医院门诊楼前|加油站旁边|酒吧街"
    ),
    "road": _l("建设路|人民路|解放大道|长江路|新华街|文化路|朝阳路|和平街|滨江路|中山北路|光明巷|东风路"),
    "num": _l("12号|3号|88号|156号|附近|旁边|路口|对面|拐角|中段|东头|西口"),
    "time": _l(
        "刚才|十分钟前|半个小时前|昨天晚上|今天早上|刚刚|就在刚才|大概一个钟头前|凌晨两三点|中午吃饭的时候"
        "|下午|前两天|刚刚不久|五分钟前|今晚九点多"
    ),
    "person": _l(
        "一个男的|一个女的|两个小伙子|一个穿黑衣服的人|几个年轻人|一个光头|一个戴帽子的|一个四十来岁的男子"
        "|一个染黄头发的|一个外地口音的|两个骑摩托的|一个瘦高个|一个戴口罩的男人|一伙人"
    ),
    "item": _l(
        "手机|钱包|包|笔记本电脑|金项链|现金|身份证和银行卡|电瓶|手表|苹果手机|挎包|金手镯|iPad|双肩包"
    ),
    "vehicle": _l("电动车|电瓶车|电驴|小电驴|摩托车|自行车|踏板车|三轮车|电摩"),
    "car": _l("一辆小轿车|出租车|大货车|公交车|面包车|一辆白色SUV|网约车|渣土车|一辆黑色奥迪|快递三轮"),
    "money": _l("两千块|五万|三千多|一万二|八千块钱|二十多万|好几万|六百|四万八|十来万|一万多块|九千九"),
    "injury": _l(
        "满脸是血|头上破了个口子|手好像骨折了|鼻子流血不止|眼睛肿了|晕过去了|腿动不了|胳膊上全是血|牙被打掉了"
        "|肋骨疼得喘不上气"
    ),
    "weapon": _l("刀|棍子|砖头|啤酒瓶|铁棍|菜刀|钢管|板凳|水果刀|扳手"),
    "rel": _l("我老公|我老婆|邻居|房东|我儿子|我婆婆|老板|同事|前男友|对门那家|楼上的"),
    "count": _l("好几|七八|两三|十几|四五|二十来"),
    "hour": _l("十二点|凌晨一点|半夜两点|十一点多|快一点"),
    "relative": _l("老人|孩子|我爸|我奶奶|我外公|我女儿|我家老太太|三岁的儿子|智障的弟弟"),
    "smoke": _l("冒黑烟|火很大|烟很浓|能看到火苗|火苗窜得老高|噼里啪啦在烧|整层都是烟"),
    "imperson": _l("公安局的|客服|我领导|快递员|银行工作人员|法院的|我同学|社保局的"),
    "direction": _l("东边|北边|巷子里|马路对面|菜场方向|往南|河边"),
    "q": _l(
        "身份证丢了补办|户口迁移|居住证办理|驾照扣分的事|开无犯罪证明|护照签注|小孩上户口|暂住登记"
        "|车辆年检|出入境办证"
    ),
}

# The core phrasings per 类型. `{slot}` is filled from SLOTS.
CORE: dict[str, list[str]] = {
    "0101": [
        "{time}我的{item}被人偷了",
        "家里进贼了，门锁被撬，{item}都没了",
        "我停在{place}的{vehicle}不见了，锁被剪断了",
        "在公交车上人挤的时候{item}被摸走了",
        "回来发现{item}没了，监控里看到{person}拿走的",
        "{person}顺手把我放桌上的{item}拿走了",
        "车窗被砸了，里面的{item}被拿了",
        "我的{item}丢了，怀疑是被人扒了",
        "店里收银台的钱少了好几千，应该是遭贼了",
        "有人把我家门口的快递顺走了",
        "我那辆{vehicle}放楼下一晚上就没影了",
        "包被人划了个口子，里面{item}没了",
        "{vehicle}的电瓶被人卸走了",
        "宿舍里好几个人的{item}失窃",
        "地铁上有个小偷在掏别人口袋",
        "家里翻得乱七八糟，柜子里的{item}和{money}现金不见了",
        "我的{item}让人给顺了",
        "刚发现{vehicle}被人骑走了，不是我借的",
        "单位仓库里的铜线被人拿走一大捆",
        "晾在外面的衣服和鞋子都被人收走了",
        "有人趁我睡觉从窗户爬进来拿了{item}",
        "超市里有人往兜里塞东西没付钱就走",
        "我放在车筐里的{item}一转身就没了",
    ],
    "0102": [
        "{person}拿着刀逼我把钱交出来",
        "{person}骑着摩托车从后面把我的{item}抢走了",
        "我刚取完钱出来就被人截住要钱",
        "{person}冲过来一把拽走我脖子上的金链子就跑了",
        "有人拦路要钱，不给就要打我",
        "被几个人围住，逼我把手机和钱都交出来",
        "在{place}有人抢东西，往{direction}跑了",
        "飞车夺包，人被带倒了",
        "他掐着我脖子把我{item}抢了",
        "夜里走路被人从背后捂住嘴，身上的钱全被搜走了",
        "有人持刀抢劫了便利店",
        "{person}夺了我手里的{item}撒腿就跑",
        "出租车司机被乘客拿刀顶着要钱",
        "{person}把我逼到墙角，让我掏钱",
        "有人在ATM旁边把我刚取的钱抢跑了",
        "{person}用刀顶着我腰要我转账",
        "骑车路过的人一把扯走了我的{item}",
        "几个人把我拖到巷子里把身上值钱的全拿走了",
        "有人冲进金店抢了金子就跑",
    ],
    "0103": [
        "我被骗了，对方冒充{imperson}让我转账{money}",
        "网上买东西被骗了{money}",
        "接到一个电话说我账户涉嫌洗钱，让我把钱转到安全账户",
        "有人在{place}说能帮我办事，收了我{money}就联系不上了",
        "我妈被人忽悠买了假保健品，花了{money}",
        "刷单返利被骗，前面返了几单，后面提不了现",
        "对方说是我领导，让我先垫钱打过去，结果是假的",
        "转了{money}才发现上当了，对方把我拉黑了",
        "投资平台说能赚大钱，现在钱取不出来了",
        "有人冒充快递客服说要理赔，骗走了我{money}",
        "网恋对象让我往一个平台充钱，充了{money}后人没了",
        "在街上被人用假金元宝换走了{money}",
        "说是中了奖要先交手续费，交了{money}也没见奖品",
        "说我快递丢了要赔钱，我按他说的操作钱就没了",
        "一个自称老同学的人借钱，我转完才知道是假的",
        "在网上找兼职，先交了押金，现在人找不到了",
        "买二手车付了定金，卖家消失了",
        "对方说我孩子出事了，让我马上打钱",
        "被人拉进群炒股，充进去的钱全亏光了",
    ],
    "0104": [
        "我被人用{weapon}打伤了，{injury}",
        "{person}拿刀把人砍了，流了好多血",
        "有人把我老公打得{injury}，现在送医院了",
        "我被{person}捅了一刀",
        "他拿{weapon}砸我头，{injury}",
        "有人故意伤人，受伤的躺在地上起不来",
        "我被打得骨折了，要追究他的责任",
        "邻居拿菜刀把我砍伤了",
        "{person}拿{weapon}往人身上招呼，{injury}",
        "我弟弟被人用刀划伤了脸",
        "有人泼硫酸伤人",
        "被{person}用{weapon}敲了后脑勺，{injury}",
        "我儿子在学校被同学打伤住院了",
        "{person}突然冲过来砍了我胳膊一刀",
        "他拿开水泼我，烫伤了",
        "工友拿{weapon}把人打得{injury}",
        "有人用{weapon}伤人，地上都是血",
        "被人推下楼梯，{injury}",
    ],
    "0105": [
        "我的车被人划了好几道",
        "有人把我家门砸坏了，还用油漆写了字",
        "我老公被人关在一个屋里不让出来，逼他还钱",
        "有人扣着我朋友不放，说不给钱就不放人",
        "店里的玻璃门被人砸碎了",
        "我被几个人关在宾馆里一天了，手机也被收了",
        "讨债的把我弟弟扣下了，不让走",
        "有人故意扎了我车的四个轮胎",
        "{person}把我摊子掀了，东西全砸烂了",
        "小区的监控探头被人故意破坏了",
        "车上被泼了红油漆",
        "门锁眼被人堵了胶水",
        "有人在我车上用钥匙刻了字",
        "我家玻璃被人用石头砸了",
        "公司把我关在办公室不让走，说要赔钱",
        "有人故意把我家的水管割断了",
        "{person}在楼道里把电表箱砸了",
        "我被债主锁在房间里两天了",
    ],
    "0201": [
        "和{rel}吵起来了，吵得很凶",
        "我跟邻居因为楼上漏水闹矛盾",
        "老板拖欠工资不给，{money}一直拖着",
        "在店里买的东西有质量问题，商家不给退",
        "{rel}喝了酒回来跟我吵，摔东西",
        "他借了我{money}不还，找他他还骂人",
        "饭店多收了钱，老板态度很差，双方争执起来了",
        "两口子在家吵架，孩子在哭",
        "房东扣押金不退，还把我东西扔出来了",
        "出租车司机跟乘客因为车费吵起来了",
        "因为停车位的事跟{rel}扯皮，对方不讲理",
        "和{rel}为了房子拆迁款闹翻了",
        "装修公司收了钱不干活，找他们理论没结果",
        "网购退货商家不认账，我在店门口跟他们吵",
        "我和老公闹离婚，他把孩子抢走不让我见",
        "邻居在公共走廊堆杂物，说了还骂我",
        "我在理发店办的卡，店跑路了，找老板要钱",
        "物业和业主为了停车费吵起来了",
        "买的二手手机是坏的，卖家不认账",
        "跟包工头要工钱，他们推来推去不给",
        "我跟我妈因为彩礼的事吵翻了",
    ],
    "0202": [
        "{place}有人打架，{count}个人在打",
        "一群人在{place}打起来了",
        "我被{person}打了几拳",
        "有人在街上互殴，还抄起了凳子",
        "两伙人斗殴，场面很乱",
        "他扇了我几个耳光，还踹了我",
        "在{place}被人无缘无故打了",
        "我被几个喝多了的人揍了一顿",
        "烧烤摊两桌客人打起来了",
        "{person}对我拳打脚踢",
        "学校门口有学生在群殴",
        "跟人发生口角，对方上来就动手打我",
        "有人在网吧里打起来了，有人头破了",
        "{count}个人围着一个人打",
        "酒吧门口两帮人在干仗",
        "我在排队，有人插队，说了他一句他就打我",
        "{person}打了我老婆一巴掌",
        "两个司机下车就扭打在一起",
    ],
    "0203": [
        "楼上一直在蹦跶，吵得睡不着",
        "{place}旁边工地晚上还在施工，太吵了",
        "隔壁KTV声音太大了，都{hour}了",
        "广场舞音响开得太响了",
        "有人在楼下放音乐，吵死了",
        "邻居家狗叫了一晚上",
        "店铺门口喇叭一直在喊促销，很扰民",
        "对面酒吧噪音扰民，投诉了好几次",
        "装修电钻声从早上七点响到现在",
        "楼上半夜唱歌开派对，都{hour}了还不停",
        "有人在小区里放鞭炮，一放就是半小时",
        "{place}有人开着改装车轰油门，声音特别大",
        "隔壁麻将声哗啦啦响一夜",
        "楼下商铺的空调外机嗡嗡响一整夜",
        "隔壁小孩每天晚上练钢琴到{hour}",
        "有人在楼下修车，敲敲打打的",
        "半夜有人在街上飙车，轰轰的",
        "楼上每天凌晨剁肉，咚咚的",
        "附近夜宵摊喧哗到{hour}",
    ],
    "0204": [
        "有个喝醉的人在{place}闹事，砸东西",
        "几个小混混在{place}寻衅滋事，故意找茬",
        "有人喝多了在饭店撒酒疯",
        "一帮人在门口起哄，堵着不让人走",
        "有人拿着棍子在街上晃，吓唬路人",
        "醉汉在{place}大吵大闹，骂路人",
        "{person}在{place}耍酒疯，拦着车不让走",
        "有人在店里无理取闹，赖着不走",
        "几个人在{place}强行拉客，不去就骂",
        "{person}喝多了躺在马路中间撒泼",
        "有人在医院里闹，把护士站围了",
        "有人在公交车上骂司机，还抢方向盘",
        "几个人在{place}拦着路人要烟",
        "有人喝醉了在小区里砸车窗玩",
        "{person}在{place}光着膀子骂街",
        "有人在广场上随地小便还骂人",
        "一个醉汉在地铁上纠缠女乘客",
    ],
    "0301": [
        "{road}上{car}和{vehicle}撞了",
        "我被车撞了，{injury}",
        "发生车祸，有人倒在地上",
        "追尾了，对方不肯走保险",
        "路口两车相撞，车头都变形了",
        "一个骑{vehicle}的被{car}撞飞了",
        "倒车的时候把人家车刮了，对方不让走",
        "{road}十字路口出事故了，有人受伤",
        "车翻到沟里了",
        "{car}把行人撞了，司机跑了",
        "高架上好几辆车连环追尾",
        "{car}把路边的{vehicle}蹭倒了",
        "我骑车被一辆车别倒了，{injury}",
        "{car}撞上了护栏，人卡在里面",
        "出租车和电动车碰了，电动车的人躺着",
        "两辆车剐蹭了，都不肯挪车",
        "停车场里倒车撞到了小孩",
        "{road}有辆车撞了电线杆，冒烟了",
    ],
    "0302": [
        "有车堵在{place}，我的车出不去",
        "{road}堵死了，半天不动",
        "小区门口乱停车，消防通道被占了",
        "有辆车违停在我家车库门口，电话打不通",
        "红绿灯坏了，路口乱成一团",
        "大货车占道卸货，整条路都走不了",
        "{car}横在{road}上，后面排了老长",
        "学校门口接孩子的车乱停，堵得水泄不通",
        "有人在{road}摆摊占道，车过不去",
        "小区出口被人用车挡死了",
        "有人把车停在盲道上",
        "{road}有个井盖没了，车都绕着走",
        "一辆车停在公交站里不走",
        "路上有人逆行开车",
        "路中间掉了很多货，车都过不去",
        "有辆车在高速应急车道上停着",
    ],
    "0401": [
        "{place}着火了，{smoke}",
        "楼上起火了，{smoke}",
        "一辆车在路边自燃了",
        "厨房油锅着了，灭不掉",
        "{vehicle}充电的时候烧起来了",
        "闻到很大的烧焦味，楼道里全是烟",
        "仓库失火了，{smoke}",
        "有人在{place}烧东西，火越来越大",
        "山上起火了，{smoke}",
        "饭店后厨失火",
        "对面楼窗户往外冒烟，{smoke}",
        "电线短路起火了",
        "我家阳台晾的衣服烧着了",
        "隔壁房子往外冒火光",
        "有人在楼道里烧纸，引着了杂物",
        "垃圾桶着了，旁边停着车",
        "烧烤店的烟道起火了",
        "变压器冒火花，烧起来了",
    ],
    "0402": [
        "有人掉河里了",
        "有个小孩落水了，在水里扑腾",
        "电梯坏了，我们被困在里面",
        "有人被困在{place}出不来",
        "有人站在楼顶要跳楼",
        "下大雨积水，车被困在桥洞里",
        "孩子把自己反锁在车里了，车里很热",
        "有人在水库游泳没上来",
        "工地塌方有人被埋",
        "有个人爬到桥栏杆外面，好像要轻生",
        "老人被困在阳台外面的雨棚上",
        "山里迷路了，天黑了，手机快没电了",
        "有人卡在两栋楼中间的缝里了",
        "井下作业的工人晕倒了，上不来",
        "有人被困在着了水的地下室里",
        "一辆车冲进了河里，人还在里面",
        "小孩头卡在栏杆里拔不出来",
        "有人从高处掉下来挂在树上",
    ],
    "0501": [
        "我家{relative}走丢了，到现在没找到",
        "钥匙锁屋里了，进不去门",
        "有个喝醉的人躺在路边，叫不醒",
        "我迷路了，不知道怎么回去",
        "捡到一个钱包，想交给警察",
        "有个小孩一个人在{place}哭，找不到家长",
        "我家{relative}有老年痴呆，早上出门到现在没回来",
        "手机丢了没法联系家人，需要帮忙",
        "{relative}一直不接电话，担心出事，请帮忙上门看看",
        "路上有个老人摔倒了，需要帮忙",
        "门反锁了，家里还烧着水",
        "我跟{relative}在{place}走散了",
        "我喝多了找不到家了",
        "老人坐错车不知道在哪下",
        "家里老人倒地上叫不醒，我在外地，请帮忙看一下",
        "孩子放学没回家，电话也打不通",
        "我在{place}捡到一个走丢的小孩",
        "出门忘带钥匙，孩子一个人在家里",
    ],
    "0502": [
        "想问一下{q}怎么办",
        "请问{q}需要带什么材料",
        "我想咨询一下{q}",
        "派出所几点上班",
        "被骗了应该去哪里报案",
        "问一下{q}在哪个窗口办",
        "我想了解一下{q}的流程",
        "请问附近的派出所在哪",
        "{q}网上能办吗",
        "打听一下交警大队的电话",
        "请问{q}可以异地办吗",
        "我不太懂{q}，能给我讲讲吗",
        "电动车上牌去哪里",
        "问一下外地人在这边办{q}要什么条件",
        "请问查违章在哪查",
        "户籍科周末上不上班",
    ],
    "0601": [
        "没什么事，就是打着玩的",
        "电话接通后无人说话，回拨关机",
        "说要炸公安局，问他在哪就挂了",
        "喂喂喂，你们猜我是谁",
        "小孩玩手机拨的，家长说没事",
        "醉酒男子反复拨打，辱骂接警员",
        "来电称外星人要抓他，语无伦次",
        "报警说家里有炸弹，回拨关机",
        "同一号码今天第十几次来电，一接就骂人",
        "说有人杀人了，问地址说不出来，笑着挂了",
        "对着电话唱歌，问有什么事也不说",
        "说打错了，不好意思",
        "我就想跟人聊聊天",
        "电话里一直有人在喘气，不说话",
        "说他是玉皇大帝，要我们去接驾",
        "问他地址他就骂人然后挂断",
        "小孩子说家里着火了，家长接过电话说没有",
        "一个人说要报警，然后说算了不报了",
    ],
}

# Details of the category (optional, zero to two per text).
DETAILS: dict[str, list[str]] = {
    "0101": _l("我当时没注意|监控应该拍到了|东西值好几千|门是被撬开的|锁还在那|可能是熟人干的|丢了好几次了"),
    "0102": _l("他手里有刀|人往{direction}跑了|我脖子被勒红了|他骑的车没牌照|我吓坏了|他还推了我一把"),
    "0103": _l("转账记录都有|对方电话打不通了|是微信转的|卡里的钱全没了|我已经冻结了银行卡|对方是个陌生号码"),
    "0104": _l("现在在医院|血流了一地|打人的还在旁边|需要救护车|伤得挺重的|他下手很狠"),
    "0105": _l("监控拍到了|损失好几千|这是第二次了|不知道谁干的|他们说不还钱就不放|门都变形了"),
    "0201": _l("我们谈不拢|双方都很激动|想让警察来调解|已经吵了一个小时|围了好多人看|说好的又反悔"),
    "0202": _l("有人受了点轻伤|打人的还没走|好多人围着|有人拉架也拉不开|他们还在打|对方人多"),
    "0203": _l("说了好几次都不听|明天还要上班|孩子被吵醒了|物业不管|天天这样|老人心脏不好受不了"),
    "0204": _l("好多人围观|他们喝了不少酒|店里没法做生意|看着很吓人|保安拦不住|说话很冲"),
    "0301": _l("车停在路中间|需要交警来|有人受伤了|对方司机喝了酒|车损得厉害|后面堵了很长"),
    "0302": _l("等了半个多小时|按喇叭也没人理|急着上班|车牌号我记下了|影响救护车通过|每天都这样"),
    "0401": _l("人都跑出来了|楼上可能还有人|火势在蔓延|消防车快来|我用灭火器没扑灭|有爆炸声"),
    "0402": _l("人快不行了|需要消防|情况很危险|我们不敢下去|已经二十分钟了|周围没人会游泳"),
    "0501": _l("穿着蓝色外套|一米六左右|身上没带手机|麻烦你们帮帮忙|家里人急死了|说不清楚自己住哪"),
    "0502": _l("不着急|就问问|谢谢你们|网上查不到|打了好几个电话没人接|工作日有空"),
    "0601": _l("背景里有笑声|声音像小孩|一直在笑|口齿不清|回拨是空号|之前也打过"),
}

OPENERS = _l(
    "喂，110吗|你好警察同志|我要报警|报警人称|来电称|群众报警：|喂喂，听得见吗|警察你好|你好|"
    "报警，|麻烦你们|我想报个警|那个，|"
)
CLOSINGS = _l("你们快来|怎么办啊|赶紧派人来|快点来人|能不能来处理一下|谢谢|你们管不管|我在这等着||||")
LOCATIONS = _l(
    "我在{place}|在{road}{num}|地点是{road}{num}{place}|就在{place}|{road}{num}|我现在在{road}这边||"
)
IRRELEVANT = _l(
    "我手机快没电了|我刚下班回来|今天是我生日|我普通话不太好|我老婆怀孕了|外面在下雨|我是外地来打工的"
    "|我在给孩子做饭|我说话有点急|旁边还有个卖水果的|我是这里的保安|刚才还好好的"
)
HOMOPHONES = {
    "的": "地", "在": "再", "了": "啦", "他": "她", "吗": "嘛", "快": "块", "现在": "现再", "已经": "以经",
    "那个": "那各", "手机": "手鸡", "电动车": "电懂车", "报警": "报jing", "警察": "jc", "钱包": "前包",
    "怎么": "咋", "什么": "啥", "没有": "没", "知道": "晓得", "厉害": "利害", "派出所": "派处所",
}  # fmt: skip
# Everyday variation of wording, of no category: applied to every text, in training and test alike.
PARAPHRASES: dict[str, list[str]] = {
    "被人": _l("让人|叫人|给人"), "我家": _l("俺家|我们家|咱家"), "现在": _l("这会儿|眼下|这时候"),
    "怎么办": _l("咋整|咋办|怎么弄"), "不见了": _l("找不着了|没影了|找不到了"), "很": _l("挺|特别|贼|非常"),
    "太": _l("忒|真是太"), "一直": _l("老是|始终|一个劲地"), "赶紧": _l("马上|赶快|快些"), "刚才": _l("刚|方才"),
    "好几": _l("好些|几"), "没有": _l("没|木有"), "不让": _l("不许|不准"), "东西": _l("物品|玩意儿"),
    "男的": _l("男人|男子|大老爷们"), "女的": _l("女人|女子|妇女"), "小孩": _l("小朋友|孩子|娃"),
}  # fmt: skip
PARTICLES = _l("啊|呀|哎|那个|就是|嗯|哎呀|我跟你说")
SEPARATORS = ("，", "，", "。", ",", " ", "", "；", "…")


def _split(values: list[str], variants: Variants, every: int) -> list[str]:
    """Every `every`-th phrasing (from the last) is held out; short lists are shared by both parts."""
    if variants == "all" or len(values) < every:
        return values
    held = [v for i, v in enumerate(values) if i % every == every - 1]
    return held if variants == "heldout" else [v for i, v in enumerate(values) if i % every != every - 1]


def _fill(rng: random.Random, phrase: str, variants: Variants) -> str:
    def one(m: re.Match[str]) -> str:
        return rng.choice(_split(SLOTS[m.group(1)], variants, 4))

    # A slot value may itself hold a slot ({direction} in details).
    for _ in range(2):
        phrase = re.sub(r"\{(\w+)\}", one, phrase)
    return phrase


def _noisy(rng: random.Random, text: str, level: float) -> str:
    for word, others in PARAPHRASES.items():
        if word in text and rng.random() < 0.35:
            text = text.replace(word, rng.choice(others))
    for right, wrong in HOMOPHONES.items():
        if right in text and rng.random() < level:
            text = text.replace(right, wrong, 1)
    return text


def _join(rng: random.Random, parts: list[str]) -> str:
    sep = rng.choice(SEPARATORS)
    out = ""
    for i, part in enumerate(p for p in parts if p):
        if i:
            out += sep if rng.random() < 0.8 else rng.choice(SEPARATORS)
        if rng.random() < 0.12:
            out += rng.choice(PARTICLES) + ("，" if rng.random() < 0.5 else "")
        out += part
    return out + rng.choice(("", "。", "！", "!!", "？"))


def call_text(rng: random.Random, code: str, variants: Variants = "all") -> LabelledText:
    """One 110 call text of 类型 `code`."""
    cores = _split(CORE[code], variants, 3)
    index = rng.randrange(len(cores))
    core = _fill(rng, cores[index], variants)
    middle = [core]
    if rng.random() < 0.6:
        middle.append(_fill(rng, rng.choice(LOCATIONS), variants))
    if rng.random() < 0.5:
        middle.append(_fill(rng, rng.choice(SLOTS["time"]), variants))
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        middle.append(_fill(rng, rng.choice(_split(DETAILS[code], variants, 3)), variants))
    if rng.random() < 0.3:
        middle.append(rng.choice(IRRELEVANT))
    if rng.random() < 0.15:
        # Another category's detail, as calls wander: the label stays the caller's main event.
        other = rng.choice(sorted(set(DETAILS) - {code}))
        middle.append(_fill(rng, rng.choice(DETAILS[other]), variants))
    head, *rest = middle
    rng.shuffle(rest)
    middle = [head, *rest] if rng.random() < 0.6 else [*rest, head]
    parts = [rng.choice(OPENERS), *middle, rng.choice(CLOSINGS)]
    text = _noisy(rng, _join(rng, parts), 0.15)
    template_no = CORE[code].index(cores[index])
    return LabelledText(text=text, label=code, template=f"{code}:{template_no}")


def call_texts(seed: int, per_label: int = 120, variants: Variants = "all") -> list[LabelledText]:
    """`per_label` call texts of each 类型, shuffled; the same seed gives the same list."""
    rng = random.Random(f"calls:{seed}")
    out = [call_text(rng, code, variants) for code in INCIDENT_TYPES for _ in range(per_label)]
    rng.shuffle(out)
    return out


# --- fraud report narratives ------------------------------------------------------------------------------

NARRATIVE_SLOTS: dict[str, list[str]] = {
    "platform": _l("抖音|QQ群|微信群|小红书|招聘网站|快手|陌生短信|朋友圈|58同城|贴吧"),
    "app": _l("鑫盛优选|汇金宝|金鼎国际|云端任务|安心理财|易借花|速贷通|趣聊|星辰投资|财富通|乐享APP"),
    "expert": _l("股票老师|理财导师|分析师|基金经理|投资顾问|带单老师"),
    "shop": _l("淘宝|京东|拼多多|顺丰|中通快递|抖音商城|唯品会"),
    "agency": _l("公安局|检察院|法院|经侦大队|派出所|刑警队|最高检"),
    "crime": _l("洗钱|贩毒|非法集资|拐卖儿童|医保卡违规|一起诈骗案|涉黑"),
    "boss": _l("老板|领导|董事长|局长|主任|经理|校长"),
    "game": _l("王者荣耀|和平精英|原神|梦幻西游|DNF|英雄联盟|我的世界"),
    "dating": _l("探探|陌陌|婚恋网站|微信附近的人|Soul|珍爱网|同城交友群"),
    "persona": _l("军官|海外华人|成功商人|医生|离异的女老板|航运工程师|单亲妈妈"),
    "money": SLOTS["money"],
    "times": _l("三次|五六次|好几次|两次|十多次|七笔"),
}

NARRATIVES: dict[Typology, list[str]] = {
    Typology.ORDER_BRUSHING: [
        "在{platform}上看到兼职刷单广告，对方让我给商品点赞关注，前几单都返了佣金，后来说要连做任务才能提现，"
        "我先后转了{money}",
        "有人拉我进群做任务，说点赞截图就给钱，开始返了几十块，后来让我垫付做大单，转了{times}共{money}拿不回来",
        "{platform}上一个兼职说在家动动手指日赚三百，下载了{app}做任务，卡单了说要再充钱解冻",
        "对方让我帮商家冲销量，拍单后返本金加提成，最后一单{money}没返，客服说我操作失误",
        "看到招聘打字员，结果让我做垫付任务，一共被骗{money}",
        "做关注博主送礼物的任务，导师让我进阶做预付款任务，提现时说账户被冻结要交保证金",
        "朋友拉我做网上抢单赚佣金，充值越多返得越多，最后{money}提不出来",
        "在{app}上接单给店铺刷好评，派单员说连单了必须补齐才能结算",
        "对方发链接让我下单买东西，说收货后本金加提成一起退，结果不退了",
    ],
    Typology.FAKE_INVESTMENT: [
        "网上认识一个自称{expert}的人，拉我进了炒股群，推荐我在{app}投资，开始小赚，后来投了{money}，提现时说要交税",
        "{platform}里有{expert}天天晒收益，我跟着买了虚拟币，平台突然关了，{money}全没了",
        "对方说有内幕消息，带我在{app}上买原油期货，亏了让我加仓补仓，前后投了{money}",
        "被拉进一个投资群，群里都在说赚了多少，我下载了{app}充了{money}，现在登不上去",
        "有人推荐外汇理财，年化收益百分之三十，刚开始能提现，后来说账户异常要缴纳保证金",
        "自称私募的{expert}让我认购原始股，签了合同转了{money}，公司根本不存在",
        "一个网友说他舅舅在证券公司，能拿到内部股，让我在{app}开户，投了{money}平台关了",
        "有人带我买数字货币，说一天翻倍，充值后账户被冻结",
        "进了一个直播间听课，老师推荐的平台入金后显示赚了很多但取不出来",
    ],
    Typology.FAKE_LOAN: [
        "急需用钱，在网上找到一个贷款APP叫{app}，说我银行卡号填错了被冻结，要先交{money}解冻才能放款",
        "接到电话说可以无抵押低息贷款，让我先交手续费和会员费，交完还不放款",
        "在{platform}上看到贷款广告，对方说我征信不好要刷流水，让我转{money}验证还款能力",
        "申请了网贷，说要交保险金和工本费，交了{times}一共{money}，贷款一分没到",
        "对方自称网贷平台客服，说我的贷款额度已经批了，但要先缴纳{money}的保证金",
        "下载{app}借钱，显示放款失败，客服让我转账证明还款能力，说会连同贷款一起退回",
        "想借两万周转，对方说要先交一个月利息，交了再说流水不够",
        "贷款客服说我身份证照片模糊，资金被锁定，要交{money}激活",
        "有个APP说可以注销校园贷记录，否则影响征信，让我先借钱再转给他",
    ],
    Typology.FAKE_CUSTOMER_SERVICE: [
        "接到自称{shop}客服的电话，说我买的东西有质量问题要理赔，让我下载会议软件共享屏幕，卡里{money}被转走",
        "对方说是{shop}的客服，说我开通了直播会员每月扣费，要帮我取消，结果让我转了{money}",
        "快递丢了，有人打电话说是{shop}的要赔偿我，让我扫码填银行卡和验证码，钱被划走了",
        "有人冒充{shop}客服说我的账户被误设为代理商，要关闭就得在借呗上贷款转过去",
        "说我在{shop}买的衣服被查出甲醛超标，要退款给我三倍，我按他说的操作，被骗{money}",
        "自称平台客服说我的学生账户要注销否则影响征信，让我把钱转到指定账户",
        "说我的快递被污染要理赔，加了QQ后让我开通备用金再转出去",
        "自称{shop}售后，说我的订单重复扣款，让我按提示操作退款",
        "对方说我开了百万保障服务不关就扣钱，指导我转了{money}",
    ],
    Typology.FAKE_POLICE: [
        "接到电话说是{agency}的，说我涉嫌{crime}，要我把钱转入安全账户配合调查",
        "对方自称{agency}民警，发来通缉令照片，说我的身份证被人冒用涉及{crime}，让我保密不要告诉家人",
        "有人打电话说我有快递被查出违禁品，转到{agency}，对方让我资金清查转了{money}",
        "视频里一个穿制服的人说我卷入{crime}案件，要冻结我的资产，让我先把{money}转过去核查",
        "说我医保卡在外地违规消费，要转接{agency}，后来让我下载APP把钱转过去",
        "对方知道我的身份证号，说我名下银行卡涉嫌{crime}，要求我到宾馆单独配合调查",
        "对方说我的手机号发了诈骗短信，被{agency}立案，让我配合做资金核查",
        "接到电话说我涉及一个大案，要保密，让我买新手机下载APP接受调查",
        "自称{agency}的人发来逮捕令，说交了保证金就可以不被抓",
    ],
    Typology.FAKE_BOSS: [
        "微信上有人加我，头像和名字都是我们{boss}，让我给一个账户转{money}说是急用",
        "QQ上{boss}让我给合作方打款，说他在开会不方便接电话，我转了{money}后发现是假的",
        "有人冒充我们{boss}把我拉进一个工作群，群里让我先垫付{money}货款",
        "对方冒充我表哥，说在外地出事了急需用钱，让我转{money}",
        "短信说是我老同学，换了新号码，过两天借钱说住院急用，我转了{money}",
        "一个自称{boss}的人打电话让我明天去办公室，今天先帮他给领导送礼转账",
        "有人冒充我儿子的班主任在家长群收资料费",
        "对方用我{boss}的头像让我帮忙买购物卡送人，买了{money}",
        "自称我外地的亲戚说手机丢了换号，让我帮忙交罚款",
    ],
    Typology.FAKE_GAME_TRADE: [
        "在{game}里卖账号，买家让我去一个交易平台，说我的账户被冻结要交解冻费{money}",
        "孩子在{game}里买皮肤，对方说免费送，让扫码后用我的手机转了{money}",
        "在{platform}上买{game}的装备，付了{money}后卖家把号找回了",
        "对方说可以低价代充{game}点券，我转了钱就被拉黑了",
        "玩{game}时有人说我中奖了，要领取得先交保证金和手续费",
        "在游戏交易群里买号，对方让我在假网站上付款，付完提示资金冻结",
        "孩子玩{game}被人说账号违规要解封，用我手机付了{money}",
        "在{platform}上看到低价卖{game}账号，付了钱对方说要交押金才过户",
        "有人在{game}里说能刷钻石，让我扫码付款",
    ],
    Typology.ROMANCE: [
        "在{dating}上认识一个{persona}，聊了一段时间确定恋爱关系，他带我在{app}上投资，投了{money}提不出来",
        "网恋对象说自己是{persona}，要给我寄礼物，快递说要交关税，我交了{money}",
        "在{dating}认识的男朋友说他妈妈病了急需手术费，我前后转了{times}共{money}",
        "认识一个自称{persona}的网友，天天嘘寒问暖，后来让我一起在网站上博彩，输了{money}",
        "网上交友认识的女生约我见面，让我先充值会员，又让我刷礼物，花了{money}",
        "在{dating}上交了个女朋友，她说家里有难处借钱，借了{money}后就不见了",
        "在{dating}上认识的男朋友说带我赚钱，让我在{app}上跟单，充了{money}就不让提了",
        "网上认识的女朋友说要来看我，路费不够让我转钱",
        "聊了两个月的网友说自己是{persona}，说有包裹要寄给我，要交清关费",
    ],
    Typology.OTHER: [
        "收到短信说我的ETC认证过期，点链接填了银行卡信息，被盗刷{money}",
        "有人打电话说我中了大奖，要先交个人所得税，我转了{money}",
        "对方说能帮我办信用卡提额，让我交了{money}手续费",
        "在网上买演唱会门票，付了{money}对方不发票",
        "接到电话说社保卡要升级，要我说验证码，然后卡里少了钱",
        "在二手平台卖东西，买家说付款被冻结，让我扫码交保证金",
        "有人上门推销保健品说能治病，老人花了{money}买了一堆",
        "收到短信说我的积分要过期，点链接兑换后银行卡被盗刷",
        "对方冒充医保局说我医保卡可以领补贴，要我提供验证码",
        "网上买了一条狗，付了钱又说要交运费和疫苗费",
    ],
}

NARRATIVE_OPENERS = _l("报案人称，|报案人自述：|我|本人|事主称，|据受害人讲，|||")
NARRATIVE_CLOSINGS = _l("现报案|请求追回损失|后发现被骗|特来报案|请公安机关处理|转账记录已截图|||")


def report_narrative(rng: random.Random, typology: Typology, variants: Variants = "all") -> LabelledText:
    """One fraud report narrative (案情简述) of `typology`."""
    cores = _split(NARRATIVES[typology], variants, 3)
    index = rng.randrange(len(cores))

    def one(m: re.Match[str]) -> str:
        return rng.choice(_split(NARRATIVE_SLOTS[m.group(1)], variants, 4))

    core = re.sub(r"\{(\w+)\}", one, cores[index])
    clauses = [c for c in re.split("[，,]", core) if c]
    if len(clauses) > 2 and rng.random() < 0.3:
        # Callers tell the story out of order.
        i = rng.randrange(1, len(clauses) - 1)
        clauses[i], clauses[i + 1] = clauses[i + 1], clauses[i]
    parts = [rng.choice(NARRATIVE_OPENERS) + clauses[0], *clauses[1:]]
    if rng.random() < 0.3:
        parts.append(rng.choice(IRRELEVANT))
    parts.append(rng.choice(NARRATIVE_CLOSINGS))
    text = _noisy(rng, _join(rng, parts), 0.1)
    template_no = NARRATIVES[typology].index(cores[index])
    return LabelledText(text=text, label=typology.value, template=f"{typology.value}:{template_no}")


def report_narratives(seed: int, per_label: int = 120, variants: Variants = "all") -> list[LabelledText]:
    """`per_label` narratives of each typology, shuffled; the same seed gives the same list."""
    rng = random.Random(f"narratives:{seed}")
    out = [report_narrative(rng, t, variants) for t in Typology for _ in range(per_label)]
    rng.shuffle(out)
    return out
