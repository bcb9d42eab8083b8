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
                    file://LICENSES;md5=ddfbd2f121baf6c2255eff03e3022a7a"

# aws-crt ships native addons for aarch64 and x86-64 only: none for 32-bit ARM
# (armv7), and its npm package lacks the C sources to build one. An armv7
# MACHINE therefore skips this recipe ("not in COMPATIBLE_HOST"): see
# recipes/README.md for what armv7 support would take.
COMPATIBLE_HOST = "(aarch64|x86_64).*-linux.*"
TRUSTLINK_ARCH = "unsupported"
TRUSTLINK_ARCH:aarch64 = "arm64"
TRUSTLINK_ARCH:x86-64 = "x64"

# The release tarball that `npm run pack -- --arch <arm64|x64>` makes. By
# default it is taken from this recipe's files/ folder; a bbappend may set an
# https:// URI instead, with SRC_URI[sha256sum] from the tarball's .sha256 file.
TRUSTLINK_RELEASE_URI ?= "file://trustlink-${PV}-linux-${TRUSTLINK_ARCH}.tar.gz"
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

PACKAGECONFIG ??= ""
# Recommended, not required: the PKCS#11 module is named in the config at provisioning time.
PACKAGECONFIG[softhsm] = ",,,,softhsm"
PACKAGECONFIG[tpm] = ",,,,tpm2-pkcs11 tpm2-abrmd"

do_install() {
    install -d ${D}${libdir}/trustlink/native/linux-${TRUSTLINK_ARCH}
    install -m 0755 ${S}/trustlink ${D}${libdir}/trustlink/
    install -m 0644 ${S}/trustlink.cjs ${S}/aws-crt.cjs ${S}/x509.cjs ${S}/mqtt-packet.cjs ${S}/trustlink.cjs.map ${S}/aws-crt.cjs.map ${S}/x509.cjs.map ${S}/mqtt-packet.cjs.map ${S}/package.json ${S}/LICENSE ${S}/LICENSES \
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

    install -d ${D}${sysconfdir}/trustlink
    install -m 0644 ${TRUSTLINK_UNPACKED}/config.json ${D}${sysconfdir}/trustlink/config.json
    # Job handlers (jobs: true): root's, writable by no one else, or the agent refuses them.
    install -d -m 0755 ${D}${sysconfdir}/trustlink/jobs.d
}

# trustlink-provision.service skips itself (ConditionPathExists) unless a claim certificate is installed.
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

# Outside ${libdir}/trustlink, which ${PN} owns whole; ptest-runner finds
# /usr/lib/*/ptest/run-ptest, so this is `ptest-runner trustlink-ptest`.
PTEST_PATH = "${libdir}/trustlink-ptest/ptest"
RDEPENDS:${PN}-ptest += "softhsm openssl-bin"
