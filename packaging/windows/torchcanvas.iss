; Inno Setup script: TorchCanvas-<version>-setup.exe from the one-folder bundle.
; Build on Windows after `python packaging\build.py` (dist\TorchCanvas\ exists):
;   iscc /DAppVersion=0.1.0 packaging\windows\torchcanvas.iss
; Not verified here (the project's machines run Linux); .github/workflows/installers.yml
; runs it on a hosted Windows runner.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6F0B7C52-3C1E-4F7A-9C55-2B1D8E7A4C10}
AppName=TorchCanvas
AppVersion={#AppVersion}
AppPublisher=TorchCanvas developers
DefaultDirName={autopf}\TorchCanvas
DefaultGroupName=TorchCanvas
; Per-user install without admin rights by default (students on lab machines); the user can
; choose an all-users install in the dialog.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=TorchCanvas-{#AppVersion}-setup
SetupIconFile=resources\icons\torchcanvas.ico
UninstallDisplayIcon={app}\TorchCanvas.exe
Compression=lzma2/max
SolidCompression=yes
DiskSpanning=no
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; Flags: unchecked
Name: "addtopath"; Description: "Add torchcanvas-cli to PATH (run commands in a terminal)"; Flags: unchecked

[Files]
Source: "dist\TorchCanvas\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\TorchCanvas"; Filename: "{app}\TorchCanvas.exe"
Name: "{group}\Uninstall TorchCanvas"; Filename: "{uninstallexe}"
Name: "{autodesktop}\TorchCanvas"; Filename: "{app}\TorchCanvas.exe"; Tasks: desktopicon

[Registry]
Root: HKA; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; \
    ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\TorchCanvas.exe"; Description: "Start TorchCanvas"; Flags: nowait postinstall skipifsilent

; Settings live in the user's registry (QSettings) and autosaves in %APPDATA%\TorchCanvas,
; never in {app}; the uninstaller removes {app} whole.
[UninstallDelete]
Type: filesandordirs; Name: "{app}"

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Paths: string;
begin
  if not RegQueryStringValue(HKA, 'Environment', 'Path', Paths) then
    Paths := '';
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
