module bench.example/cold106

go 1.21
