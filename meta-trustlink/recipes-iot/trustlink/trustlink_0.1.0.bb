SUMMARY = "Connect a gateway to AWS IoT with a key that never leaves its TPM or HSM"
DESCRIPTION = "trustlink publishes and subscribes to AWS IoT over MQTT with mutual TLS, \
signing with a PKCS#11 key (TPM 2.0 via tpm2-pkcs11, or an HSM). It ships as one \
esbuild bundle run by the image's Node.js, with its native addons beside it."
SECTION = "net"

# trustlink is Apache-2.0; the bundle holds aws-crt (Apache-2.0) and MIT
# packages (commander, valibot, pkcs11js), asn1js (BSD-3-Clause) and tslib (0BSD),
# each listed with its text in LICENSES.
LICENSE = "Apache-2.0 & MIT & BSD-3-Clause & 0BSD"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57 \
                    file://LICENSES;md5=a1b45045c39843b49ca2897cb1ee39ef"

# aws-crt ships native addons for aarch64 and x86-64 glibc only: none for
# 32-bit ARM (armv7), and its npm package lacks the C sources to build one, so
# an armv7 MACHINE skips this recipe ("not in COMPATIBLE_HOST"; docs/image.md
# says what armv7 support would take). Both addons are linked against glibc,
# little-endian, 64-bit pointers: musl (-linux-musl), x32 (-linux-gnux32) and
# aarch64_be could not load them, so only the plain glibc hosts pass.
COMPATIBLE_HOST = "(aarch64|x86_64)-.*-linux$"
TRUSTLINK_ARCH = "unsupported"
TRUSTLINK_ARCH:aarch64 = "arm64"
TRUSTLINK_ARCH:x86-64 = "x64"

# The release tarball that `npm run pack -- --arch <arm64|x64>` makes. By
# default it is taken from the release/ folder of the checkout this layer is
# in (where pack writes it, ignored by git). To fetch it from a server
# instead, set in a bbappend or local.conf (the sha256 is the first word of
# the tarball's .sha256 file):
#   TRUSTLINK_RELEASE_URI = "https://.../trustlink-${PV}-linux-${TRUSTLINK_ARCH}.tar.gz"
#   TRUSTLINK_RELEASE_SHA256 = "..."
# Without the tarball the recipe is skipped, with the reason: see the end of this file.
TRUSTLINK_RECIPE_DIR := "${THISDIR}"
TRUSTLINK_RELEASE_DIR ?= "${@os.path.normpath(d.getVar('TRUSTLINK_RECIPE_DIR') + '/../../../release')}"
TRUSTLINK_RELEASE_URI ?= "file://${TRUSTLINK_RELEASE_DIR}/trustlink-${PV}-linux-${TRUSTLINK_ARCH}.tar.gz"
TRUSTLINK_RELEASE_SHA256 ?= ""
SRC_URI = "${TRUSTLINK_RELEASE_URI} \
           file://trustlink-wrapper.sh \
           file://trustlink.service \
           file://trustlink-selftest.service \
           file://trustlink-provision.service \
           file://config.json \
           file://run-ptest \
           "

# UNPACKDIR exists from styhead on; scarthgap unpacks into WORKDIR.
TRUSTLINK_UNPACKED = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"
S = "${TRUSTLINK_UNPACKED}/trustlink-${PV}-linux-${TRUSTLINK_ARCH}"

inherit systemd useradd ptest

# Prebuilt: nothing to configure or compile.
do_configure[noexec] = "1"
do_compile[noexec] = "1"

# The default config names tpm2-pkcs11's module (libtpm2_pkcs11.so), so the
# default PACKAGECONFIG pulls it in; it comes from meta-security's meta-tpm.
# "softhsm" is for development images, with a config.json of your own that
# names ${libdir}/softhsm/libsofthsm2.so (docs/image.md).
PACKAGECONFIG ??= "tpm"
PACKAGECONFIG[tpm] = ",,,tpm2-pkcs11,tpm2-abrmd"
PACKAGECONFIG[softhsm] = ",,,softhsm"

do_install() {
    install -d ${D}${libdir}/trustlink/native/linux-${TRUSTLINK_ARCH}
    install -m 0755 ${S}/trustlink ${D}${libdir}/trustlink/
    install -m 0644 ${S}/trustlink.cjs ${S}/compile-cache.cjs ${S}/aws-crt.cjs ${S}/x509.cjs ${S}/mqtt-packet.cjs ${S}/trustlink.cjs.map ${S}/aws-crt.cjs.map ${S}/x509.cjs.map ${S}/mqtt-packet.cjs.map ${S}/package.json ${S}/LICENSE ${S}/LICENSES \
        ${D}${libdir}/trustlink/
    install -m 0755 ${S}/native/linux-${TRUSTLINK_ARCH}/aws-crt-nodejs.node ${S}/native/linux-${TRUSTLINK_ARCH}/pkcs11.node \
        ${D}${libdir}/trustlink/native/linux-${TRUSTLINK_ARCH}/

    install -d ${D}${bindir}
    sed -e 's,@LIBDIR@,${libdir},g' -e 's,@BINDIR@,${bindir},g' -e 's,@ARCH@,${TRUSTLINK_ARCH},g' \
        ${TRUSTLINK_UNPACKED}/trustlink-wrapper.sh >${D}${bindir}/trustlink
    chmod 0755 ${D}${bindir}/trustlink

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${TRUSTLINK_UNPACKED}/trustlink.service ${TRUSTLINK_UNPACKED}/trustlink-selftest.service ${TRUSTLINK_UNPACKED}/trustlink-provision.service \
        ${D}${systemd_system_unitdir}/

    # /etc/trustlink: root's, and group trustlink may add files to it; the sticky bit
    # keeps root's files there (the PIN, jobs.d) out of trustlink's reach.
    # trustlink-provision.service (User=trustlink) replaces config.json by a
    # rename in this folder, so the config is trustlink's; it holds no secret.
    install -d -m 1770 -g trustlink ${D}${sysconfdir}/trustlink
    install -m 0640 -o trustlink -g trustlink ${TRUSTLINK_UNPACKED}/config.json ${D}${sysconfdir}/trustlink/config.json
    # Job handlers (jobs: true): root's, writable by no one else, or the agent refuses them.
    install -d -m 0755 ${D}${sysconfdir}/trustlink/jobs.d
}

# Enabled, but each unit starts only when it can do something (ConditionPathExists=):
# provisioning with a claim certificate and no identity yet, the self-test and the
# agent once provisioned. A skipped unit names the missing file in the journal.
SYSTEMD_SERVICE:${PN} = "trustlink.service trustlink-selftest.service trustlink-provision.service"
SYSTEMD_AUTO_ENABLE = "enable"
CONFFILES:${PN} = "${sysconfdir}/trustlink/config.json"

# A system user in tss, the group that may use the TPM (tpm2-abrmd, /dev/tpmrm0).
# useradd.bbclass creates tss only when no other recipe has.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system tss"
USERADD_PARAM:${PN} = "--system --user-group --groups tss --home-dir /nonexistent --no-create-home --shell /sbin/nologin trustlink"

FILES:${PN} = "${bindir}/trustlink ${libdir}/trustlink ${systemd_system_unitdir} ${sysconfdir}/trustlink"
FILES:${PN}-dbg += "${libdir}/trustlink/*.cjs.map"
RDEPENDS:${PN} = "nodejs"
# aws-crt's addon comes stripped from its vendor; pkcs11js's is stripped by `npm run build`.
INSANE_SKIP:${PN} += "already-stripped"
# The addons have SONAMEs (aws-crt-nodejs.node, pkcs11.node) but are trustlink's
# own, loaded by path: they must not become shared-library providers.
PRIVATE_LIBS:${PN} = "aws-crt-nodejs.node pkcs11.node"

# Outside ${libdir}/trustlink, which ${PN} owns whole; ptest-runner finds
# /usr/lib/*/ptest/run-ptest, so this is `ptest-runner trustlink-ptest`.
PTEST_PATH = "${libdir}/trustlink-ptest/ptest"
RDEPENDS:${PN}-ptest += "softhsm openssl-bin"

# Skip, rather than break the whole parse, when the recipe cannot be built; the
# reason shows in `bitbake-layers show-recipes trustlink` and when it is asked for.
python __anonymous() {
    import os
    reasons = []
    uri = d.getVar('TRUSTLINK_RELEASE_URI')
    if uri.startswith('file://'):
        path = uri[len('file://'):].split(';')[0]
        candidates = [path] if os.path.isabs(path) else [os.path.join(p, path) for p in d.getVar('FILESPATH').split(':')]
        # Parse again once the tarball appears or changes, not only when the recipe does.
        for candidate in candidates:
            bb.parse.mark_dependency(d, candidate)
        if not any(os.path.isfile(c) for c in candidates):
            reasons.append('no release tarball at %s: in the trustlink checkout run `npm ci && npm run pack -- --arch %s`, '
                           'or set TRUSTLINK_RELEASE_URI and TRUSTLINK_RELEASE_SHA256 in a bbappend or local.conf (docs/image.md)'
                           % (candidates[0], d.getVar('TRUSTLINK_ARCH')))
    elif d.getVar('TRUSTLINK_RELEASE_SHA256'):
        d.setVarFlag('SRC_URI', 'sha256sum', d.getVar('TRUSTLINK_RELEASE_SHA256'))
    elif not d.getVarFlag('SRC_URI', 'sha256sum'):
        reasons.append('TRUSTLINK_RELEASE_URI is %s but TRUSTLINK_RELEASE_SHA256 is not set: '
                       'set it to the first word of the tarball\'s .sha256 file' % uri)
    if bb.utils.contains('PACKAGECONFIG', 'tpm', True, False, d) and 'tpm-layer' not in d.getVar('BBFILE_COLLECTIONS').split():
        reasons.append('PACKAGECONFIG "tpm" (the default, as the default config names libtpm2_pkcs11.so) needs tpm2-pkcs11 '
                       'from meta-security\'s meta-tpm: add meta-security/meta-tpm to bblayers.conf, '
                       'or set PACKAGECONFIG:pn-trustlink = "softhsm" and install a config.json of your own (docs/image.md)')
    if reasons:
        raise bb.parse.SkipRecipe('; '.join(reasons))
}
