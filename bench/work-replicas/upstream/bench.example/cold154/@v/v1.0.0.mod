module bench.example/cold154

go 1.21
