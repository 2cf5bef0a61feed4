module bench.example/cold151

go 1.21
