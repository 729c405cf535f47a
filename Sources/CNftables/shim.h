/* libnftables, used only to show rules sitewall did not write in nft's own syntax (diff). */
#include <nftables/libnftables.h>
