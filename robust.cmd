@echo off
rem Runs the RobustCli command line on Windows, building it first when it is not built yet.
rem Windows runs the TorchSharp engine (TorchSharp 0.107 with libtorch 2.10 from NuGet; no native build).
rem After changing a source file, delete artifacts\cli-win to rebuild.
setlocal
set "HERE=%~dp0"
set "ROBUSTCLI_HOME=%HERE:~0,-1%"
set "DOTNET_CLI_TELEMETRY_OPTOUT=1"
set "DOTNET_NOLOGO=1"
set "OUT=%HERE%artifacts\cli-win"
if not exist "%OUT%\robust.exe" (
  where dotnet >nul 2>nul || (echo robust: the .NET 10 SDK is not installed; get it from https://dot.net 1>&2 & exit /b 2)
  echo robust: building ^(dotnet build -c Release -p:Engine=TorchSharp^) ... 1>&2
  dotnet build "%HERE%src\RobustCli\RobustCli.csproj" -c Release -p:Engine=TorchSharp -o "%OUT%" -v quiet -nologo 1>&2 || (echo robust: build failed 1>&2 & exit /b 1)
)
"%OUT%\robust.exe" %*
exit /b %ERRORLEVEL%
